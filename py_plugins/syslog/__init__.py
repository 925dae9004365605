"""syslog: send each request's log entry, as JSON, to the system logger.

Kong's syslog (``kong/plugins/syslog``) calls ``syslog(3)`` with ident ``kong``,
``LOG_PID`` and the configured ``facility``; the severity is
``server_errors_severity`` for a 5xx response, ``client_errors_severity`` for a 4xx,
``successful_severity`` otherwise, and the entry is sent only when that severity is
at least as severe as ``log_level``.

Moongate writes the same RFC 3164 line syslog(3) writes
(``<PRI>Mmm dd hh:mm:ss kong[PID]: {json}``, PRI = facility * 8 + severity) itself,
from the log handler without waiting, to the ``syslog_target`` setting: a Unix
datagram socket path or ``HOST:PORT`` for UDP; empty (the default) means
``/dev/log`` when it exists, else ``127.0.0.1:514``.  The difference from Kong: no
libc call (a syslog daemon that is down or slow never blocks the worker; datagrams
are then dropped, counted) and the target can be a remote UDP collector.
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson

from host.context import current_context
from host.schema import typedefs
from host.version import KONG_COMPAT_VERSION
from pdk._settings import settings_of
from py_plugins._logkit import custom_fields_by_lua, serialized
from py_plugins._logkit.senders import close_senders, datagram_sender

__all__ = [
    "NAME",
    "PRIORITY",
    "VERSION",
    "SCHEMA",
    "Plugin",
    "shutdown",
    "SEVERITIES",
    "FACILITIES",
    "target_of",
    "line",
]

NAME = "syslog"
PRIORITY = 4
VERSION = KONG_COMPAT_VERSION

#: severity name -> syslog value (lower is more severe)
SEVERITIES = {"debug": 7, "info": 6, "notice": 5, "warning": 4, "err": 3, "crit": 2, "alert": 1, "emerg": 0}
#: facility name -> syslog facility number
FACILITIES = {
    "kern": 0,
    "user": 1,
    "mail": 2,
    "daemon": 3,
    "auth": 4,
    "syslog": 5,
    "lpr": 6,
    "news": 7,
    "uucp": 8,
    "cron": 9,
    "authpriv": 10,
    "ftp": 11,
    **{f"local{i}": 16 + i for i in range(8)},
}
#: Kong's order of the facility names in the schema
_FACILITY_NAMES = [
    "auth",
    "authpriv",
    "cron",
    "daemon",
    "ftp",
    "kern",
    "lpr",
    "mail",
    "news",
    "syslog",
    "user",
    "uucp",
    *(f"local{i}" for i in range(8)),
]
_ORDER = ["debug", "info", "notice", "warning", "err", "crit", "alert", "emerg"]


def _severity(description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "default": "info",
        "required": True,
        "one_of": _ORDER,
        "description": description,
    }


SCHEMA: dict[str, Any] = {
    "fields": [
        {"protocols": typedefs.protocols},
        {
            "config": {
                "type": "record",
                "fields": [
                    {"log_level": _severity("The least severe severity that is sent.")},
                    {"successful_severity": _severity("The severity of entries of responses below 400.")},
                    {"client_errors_severity": _severity("The severity of entries of 4xx responses.")},
                    {"server_errors_severity": _severity("The severity of entries of 5xx responses.")},
                    {"custom_fields_by_lua": custom_fields_by_lua()},
                    {
                        "facility": {
                            "type": "string",
                            "default": "user",
                            "required": True,
                            "one_of": _FACILITY_NAMES,
                            "description": "The facility the system logger files the entries under.",
                        }
                    },
                ],
            }
        },
    ]
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def target_of(setting: str) -> tuple[str, int] | str:
    """Where lines go for the ``syslog_target`` setting."""
    if not setting:
        return "/dev/log" if os.path.exists("/dev/log") else ("127.0.0.1", 514)
    if setting.startswith("/"):
        return setting
    host, _, port = setting.rpartition(":")
    return (host.strip("[]") or "127.0.0.1", int(port))


def line(priority: int, message: bytes, now: float | None = None, ident: str = "kong") -> bytes:
    """One syslog(3) line: ``<PRI>Mmm dd hh:mm:ss kong[PID]: message`` (``ident``: kong)."""
    t = time.localtime(now)
    stamp = f"{_MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"<{priority}>{stamp} {ident}[{os.getpid()}]: ".encode() + message


class Plugin:
    """``log``: one line per request whose severity passes ``log_level``."""

    def log(self, kong: Any, conf: dict[str, Any]) -> None:
        entry = serialized(kong, conf, NAME)
        status = entry.get("response", {}).get("status") or 0
        if status >= 500:
            severity = conf["server_errors_severity"]
        elif status >= 400:
            severity = conf["client_errors_severity"]
        else:
            severity = conf["successful_severity"]
        if SEVERITIES[severity] > SEVERITIES[conf["log_level"]]:
            return
        priority = FACILITIES[conf["facility"]] * 8 + SEVERITIES[severity]
        message = line(priority, orjson.dumps(entry, option=orjson.OPT_NON_STR_KEYS))
        target = target_of(settings_of(current_context()).syslog_target)
        datagram_sender(NAME, target).send(message)


async def shutdown() -> None:
    """Host hook, the gateway stops: write what the senders hold, close their sockets."""
    await close_senders(NAME)
