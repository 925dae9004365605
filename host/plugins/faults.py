"""What a plugin failure is: the error the runner raises, its reason label and its log line.

A violation is any failure of a plugin handler: an exception (``reason="error"``), a
wait longer than ``plugin_phase_timeout`` (``"timeout"``), a ``MemoryError``
(``"memory"``), or whatever a sandbox reports: any exception carrying a short lowercase
``reason`` attribute (``"timeout"``, ``"memory"``, ``"escape"``, ...) is counted under
that reason.  The client never sees any of it: it gets ``500 {"message":"An unexpected
error occurred"}`` (or a closed connection once the headers are out), and the operator
gets one log line and the ``kong_plugin_errors_total`` counter (:mod:`host.metrics`).

Formatting a Python traceback costs about 0.2 ms, more than proxying a request, so a
plugin failing on every request would make its failures the worker's main work.  The
line carries the traceback the first time a (plugin, phase, exception type) fails, and
again at most every :data:`TRACEBACK_EVERY` seconds; in between, its ``exc`` field says
the traceback was logged before (:class:`TracebackGate`).
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "PluginError",
    "TracebackGate",
    "reason_of",
    "log_plugin_error",
    "BREAKER_MESSAGE",
    "TRACEBACK_EVERY",
]

log = logging.getLogger("moongate.plugins")

#: a reason label must look like one (``UnicodeDecodeError.reason`` is a sentence)
_REASON = re.compile(r"[a-z][a-z0-9_]{0,31}")
#: the body of the 503 sent while a plugin's breaker is open (fail-closed mode)
BREAKER_MESSAGE = "Service temporarily unavailable"
#: seconds between two tracebacks of the same (plugin, phase, exception type)
TRACEBACK_EVERY = 10.0
#: the ``exc`` field of a line whose traceback was left out
_REPEATED = "(traceback of this plugin, phase and error type logged less than {:g} s ago)"


def reason_of(exc: BaseException) -> str:
    """The violation's reason label: an exception's ``reason`` attribute when it is a
    short lowercase word, ``"memory"`` for a ``MemoryError``, else ``"error"``.

    The direct cause (``raise ... from violation``) is asked too, so a wrapper keeps
    the reason of what it wraps.
    """
    for candidate in (exc, exc.__cause__):
        if candidate is None:
            continue
        try:
            reason = getattr(candidate, "reason", None)
        except Exception:  # noqa: BLE001 - a property that raises gives no reason
            reason = None
        if isinstance(reason, str) and _REASON.fullmatch(reason):
            return reason
        if isinstance(candidate, MemoryError):
            return "memory"
    return "error"


class PluginError(Exception):
    """A plugin handler failed; carries what the log line and the counters need."""

    def __init__(self, plugin: str, phase: str, cause: BaseException, plugin_id: str | None = None) -> None:
        super().__init__(f"plugin '{plugin}' failed in {phase}: {cause!r}")
        self.plugin = plugin
        self.phase = phase
        self.cause = cause
        self.plugin_id = plugin_id
        self.reason = reason_of(cause)
        #: whether the log line carries the traceback (see :class:`TracebackGate`)
        self.with_traceback = True


class TracebackGate:
    """Decides, per worker, which failures get their traceback logged."""

    def __init__(self, every: float = TRACEBACK_EVERY) -> None:
        self.every = every
        self._last: dict[tuple[str, str, type], float] = {}

    def admit(self, err: PluginError) -> None:
        """Set ``err.with_traceback``: the first of its kind in ``every`` seconds only."""
        key = (err.plugin, err.phase, type(err.cause))
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            err.with_traceback = False
        else:
            self._last[key] = now


def log_plugin_error(ctx: Context, err: PluginError) -> None:
    """The one log line for a failed plugin: plugin, phase, route, request id and reason.

    The message keeps the form plugin authors see in the guides; the reason is a field
    of the structured line (``"reason":"timeout"``), like plugin, phase and route.
    """
    route = ctx.route or {}
    log.error(
        "plugin '%s' failed in phase '%s' (route %s, request %s): %s",
        err.plugin,
        err.phase,
        route.get("name") or route.get("id") or "-",
        ctx.request_id,
        err.cause,
        exc_info=(type(err.cause), err.cause, err.cause.__traceback__) if err.with_traceback else None,
        extra={
            "plugin": err.plugin,
            "phase": err.phase,
            "request_id": ctx.request_id,
            "route": route.get("name"),
            "reason": err.reason,
            "exc": None if err.with_traceback else _REPEATED.format(TRACEBACK_EVERY),
        },
    )
