"""kong.ip: whether an address is one of the ``trusted_ips``.

Trusted peers may set X-Forwarded-* and real-IP headers.  The list comes from the
request's settings (``ctx.settings``), or the gateway's default settings outside
a request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pdk._settings import settings_of
from pdk.errors import PDKArgumentError
from pdk.phases import ANY, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["is_trusted"]


@phase_checked(ANY)
def is_trusted(ctx: Context, address: str) -> bool:
    """Whether ``address`` is in ``trusted_ips``.

    Always False when the list is empty; always True with ``0.0.0.0/0`` (or ``::/0``).

    Args:
        address: an IPv4 or IPv6 address.

    Returns:
        True when the address is trusted.

    Raises:
        PDKArgumentError: ``address`` is not a string.

    Example:
        Lua: if kong.ip.is_trusted(kong.client.get_ip()) then ... end
        Python: if kong.ip.is_trusted(kong.client.get_ip()): ...
    """
    if not isinstance(address, str):
        raise PDKArgumentError("address must be a string")
    return settings_of(ctx).is_trusted(address)
