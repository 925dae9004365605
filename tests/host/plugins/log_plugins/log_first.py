"""Test plugin: a sync log handler (runs first), failing when asked to."""

PRIORITY = 30
VERSION = "1.0.0"
SCHEMA = [{"fail": {"type": "boolean", "default": False}}]

#: what the log handlers of this directory did, in order (read by the tests)
RECORD: list[str] = []


def log(kong, conf):
    RECORD.append("first")
    if conf["fail"]:
        raise RuntimeError("log-first failed on purpose")
