"""``--trace-plugins``: one log line per plugin handler call.

With the ``trace_plugins`` setting on, :func:`trace_registry` wraps every handler of
every plugin when the registry is built, so the phase runner (and the hot path when the
setting is off) is unchanged.  Each call logs, at ``notice`` on the
``moongate.trace`` logger::

    plugin=key-auth phase=access duration_ms=0.041 outcome=exit status=401 request_id=...

``outcome`` is ``ok``, ``exit`` (the handler ended the request; ``status`` is the
status the client gets) or ``error`` (``error`` then names the exception).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

from host.context import current_context
from host.plugins.spec import PluginRegistry
from pdk.errors import ExitSignal

__all__ = ["trace_registry"]

log = logging.getLogger("moongate.trace")
NOTICE = 25
_REQUEST_PHASES = frozenset({"rewrite", "access", "response", "header_filter", "body_filter", "log"})


def _report(
    name: str,
    phase: str,
    started: float,
    outcome: str,
    error: BaseException | None,
    exited_before: bool = True,
) -> None:
    ctx = current_context()
    fields: dict[str, Any] = {
        "plugin": name,
        "phase": phase,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "outcome": outcome,
    }
    if outcome == "exit" or (outcome == "ok" and not exited_before and ctx.exited):  # a Lua exit
        fields["outcome"] = "exit"
        fields["status"] = ctx.status
    if error is not None:
        fields["error"] = f"{type(error).__name__}: {error}"
    if phase in _REQUEST_PHASES:
        fields["request_id"] = ctx.request_id
    log.log(NOTICE, " ".join(f"{k}={v}" for k, v in fields.items()), extra=fields)


def _traced(name: str, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    async def finish(pending: Any, started: float, exited_before: bool) -> Any:
        try:
            result = await pending
        except ExitSignal:
            _report(name, phase, started, "exit", None)
            raise
        except BaseException as exc:
            _report(name, phase, started, "error", exc)
            raise
        _report(name, phase, started, "ok", None, exited_before)
        return result

    def call(*args: Any) -> Any:
        exited_before = phase not in _REQUEST_PHASES or current_context().exited
        started = time.perf_counter()
        try:
            result = fn(*args)
        except ExitSignal:
            _report(name, phase, started, "exit", None)
            raise
        except BaseException as exc:
            _report(name, phase, started, "error", exc)
            raise
        if inspect.isawaitable(result):
            return finish(result, started, exited_before)
        _report(name, phase, started, "ok", None, exited_before)
        return result

    call.__name__ = getattr(fn, "__name__", phase)
    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call


def trace_registry(registry: PluginRegistry) -> PluginRegistry:
    """Wrap every handler of every plugin in ``registry`` (in place) with the tracer."""
    for spec in registry:
        spec.handlers = {phase: _traced(spec.name, phase, fn) for phase, fn in spec.handlers.items()}
    return registry
