"""``custom_fields_by_lua``: log fields computed by Lua code strings, in the Lua sandbox.

Each value of the map is Lua code whose return value becomes the log field named by
the key (a dotted key sets a nested field: ``kong.log.set_serialize_value``).  As in
Kong, the code is untrusted (it comes from the configuration) and runs as the
``untrusted_lua`` setting says: ``sandbox`` (the default) gives it Kong's sandboxed
environment, ``on`` a full one, ``off`` refuses it (at validation, and at run time).

Here the code runs in a :class:`~host.lua.sandbox.SandboxedHost` of its own, one per
worker for every log plugin (made on first use, replaced when a violation broke it),
so it is bound by the sandbox's CPU budget and memory cap.  Each code string is
compiled once (cached by its text) and called in the log phase with the request
current, so ``kong.request.get_header(...)``, ``kong.response.get_status()`` and the
rest of the PDK work.  The code may not wait for I/O (Kong's log phase has no
cosockets either).  A failure raises, and the phase runner logs it: the entry is not
sent, as in Kong where the error ends the plugin's log handler.

Differences from Kong: ``ngx.ctx`` is the sandbox runtime's, not the request's
(plugins' ``kong.ctx.shared`` values are visible).
"""

from __future__ import annotations

from typing import Any

from lupa.luajit21 import LuaRuntime

from host.lua.driver import DONE, EXIT, LuaHandlerError
from pdk._settings import default_settings

__all__ = ["apply_custom_fields", "validate_lua_code", "UNTRUSTED_OFF"]

UNTRUSTED_OFF = "loading of untrusted Lua code disabled because 'untrusted_lua' config option is set to 'off'"
#: compiled functions kept per sandboxed runtime (code strings of the configuration)
_MAX_COMPILED = 4096


class _Runtime:
    """The worker's sandboxed runtime for log fields, and the code compiled in it."""

    def __init__(self, settings: Any) -> None:
        from host.lua.sandbox import SandboxedHost

        self.settings = settings
        self.host = SandboxedHost(settings, name="custom_fields_by_lua")
        self.compiled: dict[str, Any] = {}

    def function(self, code: str) -> Any:
        fn = self.compiled.get(code)
        if fn is None:
            if len(self.compiled) >= _MAX_COMPILED:
                self.compiled.clear()
            result = self.host.H.compile_untrusted(b"log-fields", code.encode(), b"=custom_fields_by_lua")
            if isinstance(result, tuple):
                fn, err = result[0], result[1] if len(result) > 1 else None
            else:
                fn, err = result, None
            if fn is None:
                raise LuaHandlerError(f"custom_fields_by_lua: {_text(err)}")
            self.compiled[code] = fn
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


def evaluate(code: str, plugin: str) -> Any:
    """Run one code string for the current request; its return value as Python data."""
    if default_settings().untrusted_lua == "off":
        raise LuaHandlerError(UNTRUSTED_OFF)
    rt = _runtime()
    host = rt.host
    res = host._call(False, plugin.encode(), rt.function(code))
    if res[0] is False:
        raise host.violation(_text(res[1]))
    tag = res[1]
    if tag == DONE:
        return host.to_python(res[2]) if len(res) > 2 else None
    if tag != EXIT:  # it waits for I/O: never resumed
        host.H.bury(res[2])
    raise LuaHandlerError("custom_fields_by_lua: the code may not wait for I/O or end the request")


def apply_custom_fields(kong: Any, conf: dict[str, Any], plugin: str) -> None:
    """Queue one ``set_serialize_value`` per field of ``conf.custom_fields_by_lua``."""
    fields = conf.get("custom_fields_by_lua")
    if not fields:
        return
    set_value = kong.log.set_serialize_value
    for key, code in fields.items():
        set_value(key, evaluate(code, plugin))


# -- validation (Kong's typedefs.lua_code: the code must compile; it is not run) -------------
_CHECKER: Any = None


def validate_lua_code(code: Any) -> Any:
    """Schema validator of one code string: ``True``, or ``(False, message)``."""
    global _CHECKER
    if default_settings().untrusted_lua == "off":
        return False, "Error parsing function: " + UNTRUSTED_OFF
    if not isinstance(code, str):
        return True  # the type check reports it
    if code.startswith("\x1b"):
        return False, "Error parsing function: attempt to load chunk with wrong mode"
    if _CHECKER is None:
        rt = LuaRuntime(
            register_eval=False, register_builtins=False, unpack_returned_tuples=True, encoding=None
        )
        _CHECKER = rt.eval("function(src) local fn, err = load(src, nil, 't', {}) return fn ~= nil, err end")
    ok, err = _CHECKER(code.encode())
    if ok:
        return True
    return False, "Error parsing function: " + _text(err)
