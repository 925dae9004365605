"""Python half of ``moongate.ngx_time``: the wall clock with millisecond resolution.

Lua's standard library only has whole seconds (``os.time``), so ``ngx.now()`` is the one
time function that crosses to Python; everything else is pure Lua.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


def now() -> float:
    """Seconds since the epoch, milliseconds kept (as nginx's cached ``ngx.now()``)."""
    return int(time.time() * 1000) / 1000


def backing(host: LuaHost) -> dict[str, Any]:
    return {"now": now}
