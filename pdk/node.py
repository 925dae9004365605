"""kong.node: facts about this gateway node (id, host name, memory)."""

from __future__ import annotations

import os
import resource
from typing import TYPE_CHECKING, Any

from pdk._settings import settings_of
from pdk.errors import PDKArgumentError
from pdk.phases import ANY, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["get_id", "get_hostname", "get_memory_stats"]

_UNITS = {"k": (1 << 10, "KiB"), "m": (1 << 20, "MiB"), "g": (1 << 30, "GiB")}


@phase_checked(ANY)
def get_id(ctx: Context) -> str:
    """The node's id (a UUID, the ``node_id`` setting).

    Returns:
        The node id.

    Example:
        Lua: local id = kong.node.get_id()
        Python: node_id = kong.node.get_id()
    """
    return settings_of(ctx).node_id


@phase_checked(ANY)
def get_hostname(ctx: Context) -> str:
    """The host name of the machine the node runs on.

    Returns:
        The host name.

    Example:
        Lua: local hostname = kong.node.get_hostname()
        Python: hostname = kong.node.get_hostname()
    """
    return settings_of(ctx).hostname


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _convert(size: int, unit: str, scale: int) -> int | str:
    if unit == "b":
        return size
    factor, suffix = _UNITS[unit]
    return f"{size / factor:.{scale}f} {suffix}"


@phase_checked(ANY)
def get_memory_stats(ctx: Context, unit: str | None = None, scale: int | None = None) -> dict[str, Any]:
    """Memory used by this worker.

    Moongate has no Lua shared dicts, so ``lua_shared_dicts`` is empty, and
    ``workers_lua_vms`` holds one entry: this worker process's resident memory.

    Args:
        unit: ``"b"`` (bytes, default), ``"k"``, ``"m"`` or ``"g"`` (any case).
        scale: decimals of the formatted values (default 2).

    Returns:
        ``{"lua_shared_dicts": {}, "workers_lua_vms": [{"http_allocated_gc": ..., "pid": ...}]}``;
        with a unit other than bytes, sizes are strings such as ``"12.00 MiB"``.

    Raises:
        PDKArgumentError: an unknown unit or a negative scale.

    Example:
        Lua: local stats = kong.node.get_memory_stats("m", 1)
        Python: stats = kong.node.get_memory_stats("m", 1)
    """
    unit_key = (unit or "b").lower()
    if unit_key != "b" and unit_key not in _UNITS:
        raise PDKArgumentError(f"invalid unit '{unit}' (expected 'k/K', 'm/M', or 'g/G')")
    scale = 2 if scale is None else scale
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 0:
        raise PDKArgumentError("scale must be equal or greater than 0")
    return {
        "lua_shared_dicts": {},
        "workers_lua_vms": [
            {"http_allocated_gc": _convert(_rss_bytes(), unit_key, scale), "pid": os.getpid()}
        ],
    }
