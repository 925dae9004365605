"""Test plugin: a log handler that does nothing (the response head is built from headers)."""

PRIORITY = 1
VERSION = "1.0.0"


def log(kong, conf):
    pass
