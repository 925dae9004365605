"""kong.nginx: the server's subsystem and connection statistics.

Moongate has no nginx; the proxy keeps the counters nginx's stub_status would
show in :data:`STATS` (per worker process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pdk.phases import ANY, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["get_subsystem", "get_statistics"]

#: the counters, updated by the proxy (this worker only)
STATS: dict[str, int] = {
    "connections_active": 0,
    "connections_reading": 0,
    "connections_writing": 0,
    "connections_waiting": 0,
    "connections_accepted": 0,
    "connections_handled": 0,
    "total_requests": 0,
}


@phase_checked(ANY)
def get_subsystem(ctx: Context) -> str:
    """The subsystem: always ``"http"`` (Moongate has no stream subsystem).

    Returns:
        ``"http"``.

    Example:
        Lua: if kong.nginx.get_subsystem() == "http" then ... end
        Python: if kong.nginx.get_subsystem() == "http": ...
    """
    return "http"


@phase_checked(ANY)
def get_statistics(ctx: Context) -> dict[str, int]:
    """Connection and request counters of this worker.

    Returns:
        ``{connections_active, connections_reading, connections_writing,
        connections_waiting, connections_accepted, connections_handled, total_requests}``.

    Example:
        Lua: local stats = kong.nginx.get_statistics()
        Python: stats = kong.nginx.get_statistics()
    """
    return {name: STATS.get(name, 0) for name in _NAMES}


_NAMES = tuple(STATS)
