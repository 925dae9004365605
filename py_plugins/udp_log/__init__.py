"""udp-log: send each request's log entry as one UDP datagram of JSON.

Kong's udp-log (``kong/plugins/udp-log``): the entry (``kong.log.serialize()`` after
``custom_fields_by_lua``) goes out in one datagram through this worker's socket for
the destination (:class:`py_plugins._logkit.senders.DatagramSender`): made on first
use by a task (name resolution bounded by ``timeout``), then each datagram is handed
to the kernel from the log handler, which never waits.  No newline is added (Kong
adds none).  Entries larger than a datagram can carry (about 64 KiB) are lost, as
with Kong.
"""

from __future__ import annotations

from typing import Any

from host.schema import typedefs
from host.version import KONG_COMPAT_VERSION
from py_plugins._logkit import custom_fields_by_lua, log_entry
from py_plugins._logkit.senders import close_senders, datagram_sender

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin", "shutdown"]

NAME = "udp-log"
PRIORITY = 8
VERSION = KONG_COMPAT_VERSION

SCHEMA: dict[str, Any] = {
    "fields": [
        {"protocols": typedefs.protocols},
        {
            "config": {
                "type": "record",
                "fields": [
                    {"host": typedefs.host(required=True)},
                    {"port": typedefs.port(required=True)},
                    {
                        "timeout": {
                            "type": "number",
                            "default": 10000,
                            "description": "Milliseconds for resolving the host and opening the socket.",
                        }
                    },
                    {"custom_fields_by_lua": custom_fields_by_lua()},
                ],
            }
        },
    ]
}


class Plugin:
    """``log``: one datagram per request."""

    def log(self, kong: Any, conf: dict[str, Any]) -> None:
        entry = log_entry(kong, conf, NAME)
        datagram_sender(NAME, (conf["host"], conf["port"]), conf["timeout"] / 1000).send(entry)


async def shutdown() -> None:
    """Host hook, the gateway stops: write what the senders hold, close their sockets."""
    await close_senders(NAME)
