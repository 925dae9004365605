"""tcp-log: send each request's log entry, one JSON line, to a TCP (or TLS) server.

Kong's tcp-log (``kong/plugins/tcp-log``): the entry (``kong.log.serialize()`` after
``custom_fields_by_lua``) followed by ``\\n`` is handed to this worker's sender for the
destination (:class:`py_plugins._logkit.senders.TcpSender`), which writes it after
the response, over a connection kept for ``keepalive`` milliseconds, with
``timeout`` for connect, handshake and write.  With ``tls`` the connection is TLS
(``tls_sni`` as server name; the certificate is not verified, as in Kong).  A dead or
slow server never delays a request: failures are logged and the entry dropped.
"""

from __future__ import annotations

from typing import Any

from host.schema import typedefs
from host.version import KONG_COMPAT_VERSION
from py_plugins._logkit import custom_fields_by_lua, log_entry
from py_plugins._logkit.senders import close_senders, tcp_sender

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin", "shutdown"]

NAME = "tcp-log"
PRIORITY = 7
VERSION = KONG_COMPAT_VERSION

SCHEMA: dict[str, Any] = {
    "fields": [
        {"protocols": typedefs.protocols},
        {
            "config": {
                "type": "record",
                "fields": [
                    {
                        "host": typedefs.host(
                            required=True, description="The IP address or host name to send data to."
                        )
                    },
                    {"port": typedefs.port(required=True, description="The port to send data to.")},
                    {
                        "timeout": {
                            "type": "number",
                            "default": 10000,
                            "description": "Milliseconds for connecting and for each write.",
                        }
                    },
                    {
                        "keepalive": {
                            "type": "number",
                            "default": 60000,
                            "description": "Milliseconds an idle connection is kept open.",
                        }
                    },
                    {
                        "tls": {
                            "type": "boolean",
                            "required": True,
                            "default": False,
                            "description": "Perform a TLS handshake with the server.",
                        }
                    },
                    {
                        "tls_sni": {
                            "type": "string",
                            "description": "The server name (SNI) sent in the TLS handshake.",
                        }
                    },
                    {
                        "custom_fields_by_lua": custom_fields_by_lua(
                            "A list of key-value pairs, where the key is the name of a log field and the "
                            "value is a chunk of Lua code, whose return value sets or replaces the log field value."
                        )
                    },
                ],
            }
        },
    ]
}


class Plugin:
    """``log``: hand the line to the destination's sender."""

    def log(self, kong: Any, conf: dict[str, Any]) -> None:
        tcp_sender(NAME, conf).send(log_entry(kong, conf, NAME))


async def shutdown() -> None:
    """Host hook, the gateway stops: write what the senders hold, close their sockets."""
    await close_senders(NAME)
