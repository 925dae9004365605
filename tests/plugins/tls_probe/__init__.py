"""Test plugin: what the certificate phase and later phases see of the TLS connection.

``certificate`` (async, like a handler that could wait) records the server name, peer
and phase facts in :data:`HANDSHAKES`; it raises for ``fail_on`` and waits for I/O for
``wait_on`` (both name a server name), which must abort the handshake.  ``access``
sends the request's TLS facts upstream as headers; ``log`` keeps the serializer's
``request.tls`` in :data:`LOGGED`.
"""

from __future__ import annotations

import asyncio

PRIORITY = 950
VERSION = "1.0.0"
SCHEMA = [
    {"fail_on": {"type": "string"}},
    {"wait_on": {"type": "string"}},
    {"client_verify": {"type": "string"}},
]

#: one entry per certificate phase run
HANDSHAKES: list[dict] = []
#: request id -> the serializer's request.tls (None on plain HTTP)
LOGGED: dict[str, dict | None] = {}


class Plugin:
    async def certificate(self, kong, conf):
        name = kong.client.tls.get_server_name()
        seen = {"server_name": name, "ip": kong.client.get_ip(), "port": kong.client.get_port()}
        try:
            kong.client.tls.request_client_certificate()
        except Exception as exc:  # noqa: BLE001 - the error is what the test checks
            seen["mtls"] = str(exc)
        try:
            kong.request.get_path()
        except Exception as exc:  # noqa: BLE001
            seen["request_api"] = str(exc)
        HANDSHAKES.append(seen)
        if name is not None and name == conf["fail_on"]:
            raise RuntimeError(f"refusing {name}")
        if name is not None and name == conf["wait_on"]:
            await asyncio.sleep(0.01)

    def access(self, kong, conf):
        set_header = kong.service.request.set_header
        set_header("X-TLS-Server-Name", kong.client.tls.get_server_name() or "none")
        set_header("X-TLS-Scheme", kong.request.get_scheme())
        set_header("X-TLS-Protocol", kong.client.get_protocol())
        try:
            chain = kong.client.tls.get_full_client_certificate_chain()
            set_header("X-TLS-Client-Chain", chain or "none")
        except Exception as exc:  # noqa: BLE001
            set_header("X-TLS-Client-Chain", f"error: {exc}")
        if conf["client_verify"]:
            kong.client.tls.set_client_verify(conf["client_verify"])

    def log(self, kong, conf):
        request_id = kong.request.get_header("X-Test-Id") or "-"
        LOGGED[request_id] = kong.log.serialize()["request"].get("tls")
