"""Test plugin: only a log handler, which raises (its failures never reach a client)."""

PRIORITY = 790
VERSION = "1.0.0"
CALLS: list[str] = []


def log(kong, conf):
    CALLS.append("log")
    raise RuntimeError("SECRET-DETAIL of fault-log")
