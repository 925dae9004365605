"""Benchmark plugin: adds a header to the upstream request."""

PRIORITY = 1005
VERSION = "1.0.0"
SCHEMA = [{"value": {"type": "string", "default": "moongate"}}]


def access(kong, conf):
    kong.service.request.set_header("X-Bench", conf["value"])
