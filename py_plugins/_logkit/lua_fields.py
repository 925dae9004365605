"""``custom_fields_by_lua``: log fields computed by Lua code strings, in the Lua sandbox.

Each value of the map is Lua code whose return value becomes the log field named by
the key (a dotted key sets a nested field: ``kong.log.set_serialize_value``).  As in
Kong, the code is untrusted (it comes from the configuration) and runs as the
``untrusted_lua`` setting says: ``sandbox`` (the default) gives it Kong's sandboxed
environment, ``on`` a full one, ``off`` refuses it (at validation, and at run time).

Here the code runs in the worker's runtime for untrusted code (:mod:`host.lua.untrusted`),
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

from host.lua.driver import LuaHandlerError
from host.lua.untrusted import UNTRUSTED_OFF, run_untrusted
from pdk._settings import default_settings
from pdk.errors import ExitSignal

__all__ = ["apply_custom_fields", "validate_lua_code", "UNTRUSTED_OFF"]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def evaluate(code: str, plugin: str) -> Any:
    """Run one code string for the current request; its return value as Python data."""
    try:
        results = run_untrusted(code, plugin, "custom_fields_by_lua")
    except ExitSignal:
        raise LuaHandlerError("custom_fields_by_lua: the code may not end the request") from None
    return results[0] if results else None


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
