"""Benchmark plugin: reads a request header and sets a response header."""

PRIORITY = 1010
VERSION = "1.0.0"


def access(kong, conf):
    kong.response.set_header("X-Bench-Echo", kong.request.get_header("User-Agent") or "none")
