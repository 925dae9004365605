"""Test plugin: raises in ``response`` (the whole upstream body is buffered for it)."""

PRIORITY = 800
VERSION = "1.0.0"


def response(kong, conf):
    kong.response.set_header("X-Partial", "set before the failure")
    raise RuntimeError("SECRET-DETAIL of fault-response")
