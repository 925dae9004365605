"""Python half of ``kong.tools.sandbox``: the ``untrusted_lua_sandbox_requires`` and
``untrusted_lua_sandbox_environment`` settings, and running a code string in the
worker's runtime for untrusted code (:mod:`host.lua.untrusted`) for a plugin of a
trusted runtime under ``untrusted_lua = sandbox``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.lua.bridge import EXIT, RAISE
from host.lua.untrusted import run_untrusted
from pdk.errors import ExitSignal

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

_DATA = (str, int, float, bool, type(None))


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is data that can cross between runtimes (no function, no userdata)."""
    if isinstance(value, _DATA):
        return True
    if depth > 32:
        return False
    if isinstance(value, dict):
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    return False


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    """``requires()`` and ``environment()`` (the two settings' lists, empty when unset),
    and ``run(plugin, code, chunkname)``: ``true, results...``, ``EXIT`` after
    ``kong.response.exit``, or ``RAISE, message``."""
    settings = host.settings

    def names(field: str) -> Callable[[], Any]:
        def read() -> Any:
            return host.to_lua([str(name) for name in (getattr(settings, field, None) or ())])

        return read

    def run(plugin: Any, code: bytes, chunkname: Any) -> Any:
        name = plugin.decode("utf-8", "replace") if isinstance(plugin, bytes) else "kong.tools.sandbox"
        label = (
            chunkname.decode("utf-8", "replace").lstrip("=@") if isinstance(chunkname, bytes) else "sandbox"
        )
        try:
            results = run_untrusted(code.decode("utf-8", "surrogateescape"), name, label)
        except ExitSignal:
            return EXIT
        except Exception as exc:  # noqa: BLE001 - a Lua error in the calling plugin
            return RAISE, str(exc).encode("utf-8", "surrogateescape")
        if not all(_plain(value) for value in results):
            message = (
                f"{label}: untrusted code runs in a sandboxed runtime and may return only data, not functions"
            )
            return RAISE, message.encode()
        return (True, *(host.to_lua(value) for value in results))

    return {
        "requires": names("untrusted_lua_sandbox_requires"),
        "environment": names("untrusted_lua_sandbox_environment"),
        "run": run,
    }
