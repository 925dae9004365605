"""Python half of ``lsyslog`` (the syslog(3) binding Kong's syslog plugin uses): lines
go where the bundled syslog plugin sends its own, the ``syslog_target`` setting, written
without blocking the worker (py_plugins/syslog)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.context import current_context
from pdk._settings import settings_of
from py_plugins._logkit.senders import close_senders, datagram_sender
from py_plugins.syslog import FACILITIES, SEVERITIES, line, target_of

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

_SENDER = "lsyslog"


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    """``constants()`` (syslog.h's values: facilities shifted, as C's ``LOG_AUTH``),
    ``open(ident, facility)`` and ``log(level, message)``."""
    opened = {"ident": "lua", "facility": FACILITIES["user"] << 3}
    host.on_close(lambda: close_senders(_SENDER))

    def constants() -> Any:
        values: dict[str, int] = {f"LOG_{name.upper()}": value for name, value in SEVERITIES.items()}
        values.update({f"FACILITY_{name.upper()}": code << 3 for name, code in FACILITIES.items()})
        return host.to_lua(values)

    def open_(ident: Any, facility: Any) -> None:
        opened["ident"] = ident.decode("utf-8", "replace") if isinstance(ident, bytes) else "lua"
        if isinstance(facility, int | float):
            opened["facility"] = int(facility)

    def log(level: Any, message: Any) -> None:
        text = message if isinstance(message, bytes) else str(message).encode()
        priority = (int(opened["facility"]) & ~7) | (int(level) & 7)
        target = target_of(settings_of(current_context()).syslog_target)
        datagram_sender(_SENDER, target).send(line(priority, text, ident=str(opened["ident"])))

    return {"constants": constants, "open": open_, "log": log}
