"""Test plugin: implements `response`, so the upstream body is buffered for it."""

PRIORITY = 600
VERSION = "1.0.0"


def response(kong, conf):
    body = kong.service.response.get_raw_body()
    kong.response.set_header("X-Upstream-Body-Length", str(len(body)))
    kong.response.set_status(kong.service.response.get_status() + 1)
