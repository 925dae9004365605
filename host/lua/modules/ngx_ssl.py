"""Python half of ``ngx.ssl``: the client's TLS connection, read from the request context.

The TLS listener (:mod:`host.proxy.tls`) puts the connection on the context of the
certificate phase and of every request that came over TLS; these functions read it,
with lua-resty-core's conventions: ``server_name()`` is nil without SNI or TLS, the
others answer ``nil, err`` on a plain connection.  Outside a request (``init_worker``,
timers) they raise "no request found".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.context import current_context
from host.lua.bridge import lua_function
from pdk.client_tls import CONNECTION_KEY
from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import REQUEST, Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost
    from host.proxy.tls import TLSConnection

_PHASES = int(REQUEST | Phase.certificate)
#: TLS versions as OpenSSL numbers them (``get_tls1_version``)
_VERSIONS = {"TLSv1": 0x301, "TLSv1.1": 0x302, "TLSv1.2": 0x303, "TLSv1.3": 0x304}


def _connection(required: bool = True) -> TLSConnection | None:
    ctx = current_context()
    if not ctx.phase & _PHASES:
        raise PDKArgumentError("no request found")
    conn = ctx.extra.get(CONNECTION_KEY)
    if conn is None and required:
        raise PDKError("connection is not TLS")
    return conn


def server_name() -> str | None:
    """The SNI the client sent; nil without one, or on a plain connection."""
    conn = _connection(required=False)
    return None if conn is None else conn.server_name


def server_port() -> int:
    """The port of the listener the client connected to."""
    conn = _connection()
    assert conn is not None
    return int(conn.local_port)


def _raw(address: str) -> tuple[bytes, str]:
    ip = ipaddress.ip_address(address)
    return ip.packed, "inet" if ip.version == 4 else "inet6"


def raw_server_addr() -> tuple[bytes, str]:
    """The listener's address in binary form, and ``"inet"`` or ``"inet6"``."""
    conn = _connection()
    assert conn is not None
    return _raw(conn.local_ip)


def raw_client_addr() -> tuple[bytes, str]:
    """The client's address in binary form, and ``"inet"`` or ``"inet6"``."""
    conn = _connection()
    assert conn is not None
    return _raw(conn.peer_ip)


def get_tls1_version_str() -> str:
    """``"TLSv1.2"``, ``"TLSv1.3"``, ...; known once the handshake is over (not in the
    certificate phase: Python's ssl reports the version only then)."""
    conn = _connection()
    assert conn is not None
    version = conn.negotiated()[0]
    if version is None:
        raise PDKError("the TLS version is not known before the handshake is over")
    return version


def get_tls1_version() -> int:
    """The TLS version as OpenSSL numbers it (``0x303`` for TLSv1.2, ``0x304`` for TLSv1.3)."""
    return _VERSIONS.get(get_tls1_version_str(), 0)


_API: dict[str, Callable[..., Any]] = {
    "server_name": server_name,
    "server_port": server_port,
    "raw_server_addr": raw_server_addr,
    "raw_client_addr": raw_client_addr,
    "get_tls1_version": get_tls1_version,
    "get_tls1_version_str": get_tls1_version_str,
}


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {name: lua_function(host, fn, f"ngx.ssl.{name}") for name, fn in _API.items()}
