"""kong.router: the route and service the request matched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pdk.phases import AUTH_AND_LATER, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["get_route", "get_service"]


@phase_checked(AUTH_AND_LATER)
def get_route(ctx: Context) -> dict[str, Any] | None:
    """The route entity the request matched.

    Returns:
        The route, or None when no route matched.

    Example:
        Lua: local route = kong.router.get_route()
        Python: route = kong.router.get_route()
    """
    return ctx.route


@phase_checked(AUTH_AND_LATER)
def get_service(ctx: Context) -> dict[str, Any] | None:
    """The service entity of the matched route.

    Returns:
        The service, or None (no route matched, or the route has no service).

    Example:
        Lua: local service = kong.router.get_service()
        Python: service = kong.router.get_service()
    """
    return ctx.service
