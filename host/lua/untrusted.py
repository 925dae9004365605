"""The worker's runtime for untrusted Lua code strings under ``untrusted_lua = sandbox``.

Code strings held in plugin configurations (log plugins' ``custom_fields_by_lua``, the
code a trusted Lua plugin hands to ``kong.tools.sandbox``) run here, in one
:class:`~host.lua.sandbox.SandboxedHost` per worker (made on first use, replaced when a
violation broke it), so they are bound by the sandbox's CPU budget and memory cap
whatever the trust level of the plugin holding them.  Each string is compiled once
(cached by its text) and called with the request current, so the PDK works from it
(``kong.request.get_header(...)``, ``kong.response.exit(...)``).  The code may not wait
for I/O, and what it returns crosses back as plain data.
"""

from __future__ import annotations

from typing import Any

from host.lua.driver import DONE, EXIT, LuaHandlerError
from pdk._settings import default_settings
from pdk.errors import ExitSignal

__all__ = ["run_untrusted", "UNTRUSTED_OFF"]

UNTRUSTED_OFF = "loading of untrusted Lua code disabled because 'untrusted_lua' config option is set to 'off'"
#: compiled functions kept per runtime (code strings of the configuration)
_MAX_COMPILED = 4096
#: the environment the code strings share in that runtime (sandbox_env.lua untrusted_env)
_ENV = b"untrusted-code"


class _Runtime:
    """The worker's sandboxed runtime for code strings, and the code compiled in it."""

    def __init__(self, settings: Any) -> None:
        from host.lua.sandbox import SandboxedHost

        self.settings = settings
        self.host = SandboxedHost(settings, name="untrusted code")
        self.compiled: dict[tuple[str, str], Any] = {}

    def function(self, code: str, chunkname: str) -> Any:
        key = (code, chunkname)
        fn = self.compiled.get(key)
        if fn is None:
            if len(self.compiled) >= _MAX_COMPILED:
                self.compiled.clear()
            result = self.host.H.compile_untrusted(_ENV, code.encode(), f"={chunkname}".encode())
            if isinstance(result, tuple):
                fn, err = result[0], result[1] if len(result) > 1 else None
            else:
                fn, err = result, None
            if fn is None:
                raise LuaHandlerError(f"{chunkname}: {_text(err)}")
            self.compiled[key] = fn
        return fn


_RUNTIME: _Runtime | None = None


def _runtime() -> _Runtime:
    global _RUNTIME
    settings = default_settings()
    rt = _RUNTIME
    if rt is None or rt.settings is not settings or rt.host.broken:
        rt = _RUNTIME = _Runtime(settings)
    return rt


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def run_untrusted(code: str, plugin: str, chunkname: str) -> list[Any]:
    """Run one code string for the current request; its results as Python data.

    Raises :class:`LuaHandlerError` (or a sandbox violation) when it fails, refuses to
    run under ``untrusted_lua = off``, or waits for I/O; :class:`ExitSignal` when it
    ended the request (``kong.response.exit``: the response is stored on the request).
    """
    if default_settings().untrusted_lua == "off":
        raise LuaHandlerError(UNTRUSTED_OFF)
    rt = _runtime()
    host = rt.host
    res = host._call(False, plugin.encode(), rt.function(code, chunkname))
    if res[0] is False:
        raise host.violation(_text(res[1]))
    tag = res[1]
    if tag == DONE:
        return [host.to_python(value) for value in res[2:]]
    if tag == EXIT:
        raise ExitSignal()
    host.H.bury(res[2])  # it waits for I/O: never resumed
    raise LuaHandlerError(f"{chunkname}: untrusted code may not wait for I/O")
