"""kong.client: who is calling: address, port, consumer and credential, protocol.

``get_ip``/``get_port`` give the direct peer; ``get_forwarded_ip``/``get_forwarded_port``
give the client after real-IP handling (``trusted_ips``, ``real_ip_header``), which
the proxy resolved when the request arrived.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pdk._copy import copy_data
from pdk._settings import settings_of
from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import ACCESS, AUTH_AND_LATER, NOT_INIT_WORKER, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "get_ip",
    "get_forwarded_ip",
    "get_port",
    "get_forwarded_port",
    "get_credential",
    "get_consumer",
    "load_consumer",
    "authenticate",
    "get_protocol",
]


def _is_uuid(value: str) -> bool:
    if len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@phase_checked(NOT_INIT_WORKER)
def get_ip(ctx: Context) -> str:
    """The address of the direct peer (no header is considered).

    Returns:
        The peer's IP address.

    Example:
        Lua: local ip = kong.client.get_ip() -- "10.0.0.1"
        Python: ip = kong.client.get_ip()  # "10.0.0.1"
    """
    return ctx.peer_ip


@phase_checked(NOT_INIT_WORKER)
def get_forwarded_ip(ctx: Context) -> str:
    """The client's address after real-IP handling (forwarded headers from trusted peers).

    Returns:
        The client's IP address.

    Example:
        Lua: local ip = kong.client.get_forwarded_ip() -- "203.0.113.7"
        Python: ip = kong.client.get_forwarded_ip()  # "203.0.113.7"
    """
    return ctx.client_ip


@phase_checked(NOT_INIT_WORKER)
def get_port(ctx: Context) -> int:
    """The port of the direct peer.

    Returns:
        The peer's port.

    Example:
        Lua: local port = kong.client.get_port() -- 30000
        Python: port = kong.client.get_port()  # 30000
    """
    return ctx.peer_port


@phase_checked(NOT_INIT_WORKER)
def get_forwarded_port(ctx: Context) -> int:
    """The client's port after real-IP handling.

    Real-IP headers carry no port, so this is the peer's port (as with nginx's realip).

    Returns:
        The port.

    Example:
        Lua: local port = kong.client.get_forwarded_port() -- 30000
        Python: port = kong.client.get_forwarded_port()  # 30000
    """
    return ctx.peer_port


@phase_checked(AUTH_AND_LATER)
def get_credential(ctx: Context) -> dict[str, Any] | None:
    """The credential of the authenticated consumer, set by an auth plugin.

    Returns:
        The credential entity, or None.

    Example:
        Lua: local credential = kong.client.get_credential()
        Python: credential = kong.client.get_credential()
    """
    if ctx.auth_shared:
        _own_entities(ctx)
    return ctx.credential


def _own_entities(ctx: Context) -> None:
    """The request's own copies of the configuration's entities it authenticated with
    (host/lua/entity_refs.py shares them until someone reads them)."""
    ctx.consumer = copy_data(ctx.consumer)
    ctx.credential = copy_data(ctx.credential)
    ctx.auth_shared = False


@phase_checked(AUTH_AND_LATER)
def get_consumer(ctx: Context) -> dict[str, Any] | None:
    """The authenticated consumer, set by an auth plugin.

    Returns:
        The consumer entity, or None.

    Example:
        Lua: local consumer = kong.client.get_consumer()
        Python: consumer = kong.client.get_consumer()
    """
    if ctx.auth_shared:
        _own_entities(ctx)
    return ctx.consumer


@phase_checked(AUTH_AND_LATER)
def load_consumer(ctx: Context, consumer_id: str, by_username: bool = False) -> dict[str, Any] | None:
    """Find a consumer by id, or also by username.

    Args:
        consumer_id: the consumer's id (a UUID), or its username when ``by_username``.
        by_username: also look the value up as a username when no id matches.

    Returns:
        A copy of the consumer entity, or None when none matches.

    Raises:
        PDKArgumentError: ``consumer_id must be a string``, or not a UUID without ``by_username``.
        PDKError: no configuration is loaded.

    Example:
        Lua: local consumer, err = kong.client.load_consumer("alice", true)
        Python: consumer = kong.client.load_consumer("alice", True)
    """
    if not isinstance(consumer_id, str) or not consumer_id:
        raise PDKArgumentError("consumer_id must be a string")
    is_uuid = _is_uuid(consumer_id)
    if not is_uuid and not by_username:
        raise PDKArgumentError("cannot load a consumer with an id that is not a uuid")
    snapshot = ctx.snapshot
    if snapshot is None:
        raise PDKError("failed to load consumer: no configuration loaded")
    consumer = snapshot.consumer_by_id(consumer_id) if is_uuid else None
    if consumer is None and by_username:
        consumer = snapshot.consumer_by_username(consumer_id)
    return None if consumer is None else dict(consumer)


@phase_checked(ACCESS)
def authenticate(
    ctx: Context, consumer: dict[str, Any] | None = None, credential: dict[str, Any] | None = None
) -> None:
    """Set the authenticated consumer and/or credential of the request.

    Plugins with a lower priority then see consumer-scoped configuration.

    Args:
        consumer: the consumer entity, or None.
        credential: the credential entity, or None.

    Raises:
        PDKArgumentError: an argument is not a dict or None, or both are None.

    Example:
        Lua: kong.client.authenticate(consumer, credential)
        Python: kong.client.authenticate(consumer, credential)
    """
    if consumer is not None and not isinstance(consumer, Mapping):
        raise PDKArgumentError("consumer must be a table or nil")
    if credential is not None and not isinstance(credential, Mapping):
        raise PDKArgumentError("credential must be a table or nil")
    if consumer is None and credential is None:
        raise PDKArgumentError("either credential or consumer must be provided")
    ctx.consumer = consumer
    ctx.credential = credential
    ctx.auth_shared = False
    ctx.auth_serial += 1


@phase_checked(AUTH_AND_LATER)
def get_protocol(ctx: Context, allow_terminated: bool = False) -> str:
    """The protocol of the matched route the request came over.

    When the route allows several protocols, ``https`` is reported when the
    request came over TLS, or, with ``allow_terminated``, when a trusted peer
    says so in ``X-Forwarded-Proto`` (TLS terminated in front of Kong).

    Args:
        allow_terminated: trust ``X-Forwarded-Proto`` from trusted peers.

    Returns:
        ``"http"``, ``"https"``, ``"grpc"``, ``"grpcs"`` (or the route's single protocol).

    Raises:
        PDKError: ``No active route found`` or ``Only one X-Forwarded-Proto header allowed``.

    Example:
        Lua: local protocol, err = kong.client.get_protocol(true)
        Python: protocol = kong.client.get_protocol(True)
    """
    route = ctx.route
    if route is None:
        raise PDKError("No active route found")
    protocols = route.get("protocols") or ()
    if len(protocols) == 1:
        return protocols[0]
    if ctx.scheme.lower() == "https":
        return "https"
    if allow_terminated and settings_of(ctx).is_trusted(ctx.peer_ip):
        values = ctx.headers.getall("X-Forwarded-Proto", ())
        if len(values) > 1 or (values and "," in values[0]):
            raise PDKError("Only one X-Forwarded-Proto header allowed")
        if values and values[0].strip().lower() == "https":
            return "https"
    return "http"
