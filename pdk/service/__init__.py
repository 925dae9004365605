"""kong.service: where the request is proxied to (upstream, target, timeouts, retries).

The values are stored on the request context (``upstream_name``, ``upstream_host``,
``upstream_port``, the timeouts and ``retries``) and read by the balancer when it
connects.  ``kong.service.request`` and ``kong.service.response`` live in the
sub-modules of this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import ACCESS, REWRITE_ACCESS_BALANCER, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["set_upstream", "set_target", "set_retries", "set_timeouts"]

MAX_TIMEOUT = 2147483646


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PDKArgumentError(f"{name} must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise PDKArgumentError(f"{name} must be an integer")
    if not low <= value <= high:
        raise PDKArgumentError(f"{name} must be an integer between {low} and {high}: given {value}")
    return int(value)


@phase_checked(ACCESS)
def set_upstream(ctx: Context, host: str) -> bool:
    """Proxy to an Upstream entity, balancing over its targets.

    Args:
        host: the name of an Upstream entity.

    Returns:
        True.

    Raises:
        PDKArgumentError: ``host`` is not a string.
        PDKError: ``could not find an Upstream named '<host>'``.

    Example:
        Lua: local ok, err = kong.service.set_upstream("billing")
        Python: kong.service.set_upstream("billing")
    """
    if not isinstance(host, str):
        raise PDKArgumentError("host must be a string")
    snapshot = ctx.snapshot
    if snapshot is None or not snapshot.has_upstream(host):
        raise PDKError(f"could not find an Upstream named '{host}'")
    ctx.upstream_name = host
    ctx.upstream_host = host
    return True


@phase_checked(REWRITE_ACCESS_BALANCER)
def set_target(ctx: Context, host: str, port: int) -> None:
    """Proxy to this host and port instead of the service's.

    As in Kong, the host also becomes the ``Host`` header sent upstream; when it
    names an Upstream entity, that upstream is balanced.

    Args:
        host: a host name or IP address.
        port: an integer in 0..65535.

    Raises:
        PDKArgumentError: ``host`` is not a string or ``port`` is not an integer in range.

    Example:
        Lua: kong.service.set_target("service.local", 8443)
        Python: kong.service.set_target("service.local", 8443)
    """
    if not isinstance(host, str):
        raise PDKArgumentError("host must be a string")
    port = _integer(port, "port", 0, 65535)
    snapshot = ctx.snapshot
    ctx.upstream_name = host if snapshot is not None and snapshot.has_upstream(host) else None
    ctx.upstream_host = host
    ctx.upstream_port = port
    ctx.upstream_host_header = host


@phase_checked(ACCESS)
def set_retries(ctx: Context, retries: int) -> None:
    """How many times a failed connection is retried on another target.

    Args:
        retries: an integer in 0..32767.

    Raises:
        PDKArgumentError: ``retries`` is not an integer in range.

    Example:
        Lua: kong.service.set_retries(3)
        Python: kong.service.set_retries(3)
    """
    ctx.retries = _integer(retries, "retries", 0, 32767)


@phase_checked(ACCESS)
def set_timeouts(ctx: Context, connect_timeout: int, write_timeout: int, read_timeout: int) -> None:
    """The timeouts of the upstream connection, in milliseconds.

    Args:
        connect_timeout: an integer in 1..2147483646.
        write_timeout: an integer in 1..2147483646.
        read_timeout: an integer in 1..2147483646.

    Raises:
        PDKArgumentError: a timeout is not an integer in range.

    Example:
        Lua: kong.service.set_timeouts(5000, 60000, 60000)
        Python: kong.service.set_timeouts(5000, 60000, 60000)
    """
    connect = _integer(connect_timeout, "connect_timeout", 1, MAX_TIMEOUT)
    write = _integer(write_timeout, "write_timeout", 1, MAX_TIMEOUT)
    read = _integer(read_timeout, "read_timeout", 1, MAX_TIMEOUT)
    ctx.connect_timeout = connect
    ctx.write_timeout = write
    ctx.read_timeout = read
