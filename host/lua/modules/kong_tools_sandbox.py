"""Python half of ``kong.tools.sandbox``: the ``untrusted_lua_sandbox_requires`` and
``untrusted_lua_sandbox_environment`` settings, as Lua arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    """``requires()`` and ``environment()``: the two settings' lists (empty when unset)."""
    settings = host.settings

    def names(field: str) -> Callable[[], Any]:
        def read() -> Any:
            return host.to_lua([str(name) for name in (getattr(settings, field, None) or ())])

        return read

    return {
        "requires": names("untrusted_lua_sandbox_requires"),
        "environment": names("untrusted_lua_sandbox_environment"),
    }
