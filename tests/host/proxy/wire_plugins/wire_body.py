"""Test plugin: a body_filter that changes nothing (the response goes through aiohttp's writer)."""

PRIORITY = 2
VERSION = "1.0.0"


def body_filter(kong, conf):
    pass
