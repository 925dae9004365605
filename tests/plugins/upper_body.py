"""Test plugin: upper-cases the response body chunk by chunk (streaming body_filter)."""

PRIORITY = 500
VERSION = "1.0.0"


def header_filter(kong, conf):
    kong.response.clear_header("Content-Length")


def body_filter(kong, conf):
    chunk = kong.response.get_raw_body()
    if chunk is not None:
        kong.response.set_raw_body(chunk.upper())
