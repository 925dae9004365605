"""Test plugin: sets response headers in access, one of them replacing the upstream's."""

PRIORITY = 3
VERSION = "1.0.0"


def access(kong, conf):
    kong.response.set_header("X-A", "set by the plugin")
    kong.response.add_header("X-Set", "1")
    kong.response.add_header("X-Set", "2")
    kong.response.set_header("Content-Type", "text/x-plugin")
