"""Test plugin: logs a warning and a debug line in ``access``."""

NAME = "otel-logger"
PRIORITY = 900
VERSION = "1.0.0"


def access(kong, conf):
    kong.log.warn("upstream is slow: ", 42, " ms")
    kong.log.debug("not exported: below the log level")
