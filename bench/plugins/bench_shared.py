"""Benchmark plugin: hands a value through kong.ctx.shared and tags the response."""

PRIORITY = 1000
VERSION = "1.0.0"


def access(kong, conf):
    kong.ctx.shared["bench"] = kong.request.get_method()


def header_filter(kong, conf):
    kong.response.set_header("X-Bench-Method", kong.ctx.shared.get("bench", "-"))
