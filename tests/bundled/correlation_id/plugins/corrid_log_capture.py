"""Test plugin: keeps what ``kong.log.serialize()`` returns in the log phase (as a log
plugin would send it)."""

PRIORITY = 5
VERSION = "1.0.0"

#: the serialized log entries, in order (read by the tests)
RECORD: list[dict] = []


def log(kong, conf):
    RECORD.append(kong.log.serialize())
