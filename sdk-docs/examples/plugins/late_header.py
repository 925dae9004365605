"""late-header: a deliberate mistake, to show what a failing plugin looks like."""

PRIORITY = 10
VERSION = "1.0.0"


def header_filter(kong, conf):
    # Too late: the request went upstream long ago. The PDK raises a phase error.
    kong.service.request.set_header("X-Late", "1")
