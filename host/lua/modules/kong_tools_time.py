"""Python half of ``kong.tools.time``: wall, monotonic and request-start clocks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.context import current_context

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


def now() -> float:
    """Epoch seconds, millisecond resolution (like ngx.now)."""
    return int(time.time() * 1000) / 1000


def start_time() -> float:
    """When the current request arrived (epoch seconds, ms resolution)."""
    return int(current_context().started_at * 1000) / 1000


def monotonic_ms() -> int:
    """A monotonic clock in milliseconds."""
    return time.monotonic_ns() // 1_000_000


def time_ns() -> int:
    """Wall-clock nanoseconds since the epoch."""
    return time.time_ns()


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {"now": now, "start_time": start_time, "monotonic_ms": monotonic_ms, "time_ns": time_ns}
