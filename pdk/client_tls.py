"""kong.client.tls: the client's TLS connection (HTTPS listeners).

The proxy's TLS listeners (``proxy_listen`` entries with ``ssl``, see
:mod:`host.proxy.tls`) put what they know of the connection on the request context:
the server name (SNI) the client asked for, the negotiated version and cipher.  In the
``certificate`` phase, which runs during the TLS handshake, the same connection is
the only thing there is (no request yet).

Two of Kong's functions cannot be done with Python's ``ssl`` module, which offers no
per-connection control during the handshake: ``request_client_certificate`` and
``disable_session_reuse`` fail with an error saying so (``nil, err`` in Lua), so a
plugin written for Kong logs it and goes on, as it would with any failure there.
``get_server_name`` is Moongate's (Kong's plugins call ``ngx.ssl.server_name()``,
which Moongate's ``ngx.ssl`` module serves from the same place).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import NOT_INIT_WORKER, Phase, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "request_client_certificate",
    "disable_session_reuse",
    "get_full_client_certificate_chain",
    "set_client_verify",
    "get_server_name",
]

#: where the TLS listener puts the connection (``host.proxy.tls.TLSConnection``) in ``ctx.extra``
CONNECTION_KEY = "tls_connection"
#: where the listener puts the log serializer's ``request.tls`` (version, cipher, client_verify)
SERIALIZED_KEY = "tls"

_P = Phase
#: Kong's REWRITE_AND_LATER set of ``kong.client.tls``
_REWRITE_AND_LATER = _P.rewrite | _P.access | _P.response | _P.balancer | _P.log
#: Kong's REWRITE_BEFORE_LOG set
_REWRITE_BEFORE_LOG = _P.rewrite | _P.access | _P.response | _P.balancer
_NOT_TLS = "connection is not TLS or TLS support for Nginx not enabled"

F = TypeVar("F", bound=Callable[..., Any])


def _public(fn: F) -> F:
    """Name the function after its public namespace (``kong.client.tls.*``) in phase errors."""
    fn.__module__ = "pdk.client.tls"
    return fn


@phase_checked(_P.certificate)
@_public
def request_client_certificate(ctx: Context, ca_certs: Any = None) -> bool:
    """Ask the client for its certificate during the handshake (mutual TLS).

    Not available in Moongate: Python's ``ssl`` module cannot ask for a client
    certificate on one connection from the handshake, so this always fails.

    Args:
        ca_certs: the CA certificates whose names are sent to the client (ignored).

    Returns:
        Never returns: see Raises.

    Raises:
        PDKError: always (``nil, err`` in Lua), naming the limitation.

    Example:
        Lua: local ok, err = kong.client.tls.request_client_certificate()
        Python: kong.client.tls.request_client_certificate()  # raises PDKError
    """
    raise PDKError(
        "request_client_certificate is not supported by Moongate: Python's ssl module "
        "cannot request a client certificate for one connection during the handshake"
    )


@phase_checked(_P.certificate)
@_public
def disable_session_reuse(ctx: Context) -> bool:
    """Prevent the TLS session of this connection from being resumed later.

    Not available in Moongate: Python's ``ssl`` module sets session tickets and the
    session cache per listener, not per connection, so this always fails.

    Returns:
        Never returns: see Raises.

    Raises:
        PDKError: always (``nil, err`` in Lua), naming the limitation.

    Example:
        Lua: local ok, err = kong.client.tls.disable_session_reuse()
        Python: kong.client.tls.disable_session_reuse()  # raises PDKError
    """
    raise PDKError(
        "disable_session_reuse is not supported by Moongate: Python's ssl module "
        "cannot disable session reuse for one connection"
    )


@phase_checked(_REWRITE_AND_LATER)
@_public
def get_full_client_certificate_chain(ctx: Context) -> str | None:
    """The client's certificate chain, PEM-encoded, client certificate first.

    Moongate's listeners never ask for a client certificate (see
    ``request_client_certificate``), so over TLS this is None.

    Returns:
        The PEM chain, or None when the client presented no certificate.

    Raises:
        PDKError: ``connection is not TLS ...`` on a plain HTTP connection.

    Example:
        Lua: local pem, err = kong.client.tls.get_full_client_certificate_chain()
        Python: pem = kong.client.tls.get_full_client_certificate_chain()
    """
    conn = ctx.extra.get(CONNECTION_KEY)
    if conn is None:
        raise PDKError(_NOT_TLS)
    chain = conn.peer_chain()
    if not chain:
        return None
    return "".join(chain)


@phase_checked(_REWRITE_BEFORE_LOG)
@_public
def set_client_verify(ctx: Context, v: str) -> None:
    """Override the client verification result the log serializer reports.

    ``kong.log.serialize()`` reports it as ``request.tls.client_verify``; by default
    it is ``"NONE"`` (no client certificate was asked for).

    Args:
        v: ``"SUCCESS"``, ``"NONE"`` or ``"FAILED:<reason>"``.

    Raises:
        PDKArgumentError: any other value.

    Example:
        Lua: kong.client.tls.set_client_verify("FAILED:unknown CA")
        Python: kong.client.tls.set_client_verify("FAILED:unknown CA")
    """
    if not isinstance(v, str):
        raise PDKArgumentError("client verify value must be a string")
    if v not in ("SUCCESS", "NONE") and not v.startswith("FAILED:"):
        raise PDKArgumentError(
            f'unknown client verify value: {v} accepted values are: "SUCCESS", "NONE" or "FAILED:<reason>"'
        )
    serialized = ctx.extra.get(SERIALIZED_KEY)
    if serialized is not None:  # only TLS requests report request.tls
        serialized["client_verify"] = v


@phase_checked(NOT_INIT_WORKER)
@_public
def get_server_name(ctx: Context) -> str | None:
    """The server name (SNI) the client sent in the TLS handshake (Moongate's addition).

    Kong's plugins read it with ``ngx.ssl.server_name()``, which Moongate provides too.
    In the ``certificate`` phase it is what the certificate is chosen by.

    Returns:
        The name, or None without SNI or on a plain HTTP connection.

    Example:
        Lua: local name = kong.client.tls.get_server_name() -- "api.example.com"
        Python: name = kong.client.tls.get_server_name()  # "api.example.com"
    """
    conn = ctx.extra.get(CONNECTION_KEY)
    return None if conn is None else conn.server_name
