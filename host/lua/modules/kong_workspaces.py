"""Python half of ``kong.workspaces``: the default workspace's id."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pdk._serialize import DEFAULT_WORKSPACE_ID

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    """``default_id()``: the id log entries carry as ``workspace``."""
    return {"default_id": lambda: DEFAULT_WORKSPACE_ID.encode()}
