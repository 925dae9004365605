"""Structured log lines on stderr (one JSON object per line), with Kong's level names."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

__all__ = ["setup_logging", "KONG_LEVELS", "JsonFormatter"]

#: Kong's log levels mapped onto the stdlib's
KONG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": 25,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "err": logging.ERROR,
    "crit": logging.CRITICAL,
    "alert": logging.CRITICAL + 5,
    "emerg": logging.CRITICAL + 10,
}
logging.addLevelName(25, "NOTICE")
logging.addLevelName(logging.CRITICAL + 5, "ALERT")
logging.addLevelName(logging.CRITICAL + 10, "EMERG")

_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "msg", ...extra fields..., "exc"}`` per line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and value is not None:
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(data, default=str).decode()


def setup_logging(level: str = "notice") -> None:
    """Send every ``moongate`` log line to stderr at ``level`` (a Kong level name)."""
    if level not in KONG_LEVELS:
        raise ValueError(f"unknown log level {level!r}; expected one of: {', '.join(KONG_LEVELS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("moongate")
    root.handlers[:] = [handler]
    root.setLevel(KONG_LEVELS[level])
    root.propagate = False
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
