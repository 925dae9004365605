"""Tracing instrumentations: timings of plugin phases recorded for the opentelemetry plugin.

Kong's ``tracing_instrumentations`` setting (``off`` by default) names what is
measured: ``all``, ``request``, ``router``, ``balancer``, ``plugin_rewrite``,
``plugin_access``, ``plugin_header_filter`` (``db_query``, ``dns_query`` and
``http_client`` are accepted; Moongate has nothing to measure there yet).

With a ``plugin_*`` instrumentation on, :func:`instrument_registry` wraps the handlers
of that phase of every plugin when the registry is built (the technique of
:mod:`host.plugins.trace`), so nothing changes on the hot path while the setting is
off.  Each call appends ``(span name, start, end, error)`` to the request's
``ctx.extra["tracing.spans"]`` (``perf_counter`` seconds; span names are Kong's:
``kong.access.plugin.<name>``).  The request span, the balancer spans (from the
context's upstream timings and ``tries``) and their export are the opentelemetry
plugin's.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any

from host.context import current_context
from host.plugins.spec import PluginRegistry

__all__ = ["INSTRUMENTATIONS", "SPANS_KEY", "enabled", "instrument_registry", "recorded"]

#: what ``tracing_instrumentations`` may name (Kong's list)
INSTRUMENTATIONS = frozenset(
    {
        "off",
        "all",
        "request",
        "db_query",
        "dns_query",
        "router",
        "http_client",
        "balancer",
        "plugin_rewrite",
        "plugin_access",
        "plugin_header_filter",
    }
)
#: ctx.extra key of the spans recorded during a request
SPANS_KEY = "tracing.spans"
_PLUGIN_PHASES = ("rewrite", "access", "header_filter")


def enabled(settings: Any, name: str) -> bool:
    """Whether instrumentation ``name`` is on in ``settings.tracing_instrumentations``."""
    names: Iterable[str] = getattr(settings, "tracing_instrumentations", None) or ("off",)
    if "off" in names:
        return False
    return "all" in names or name in names


def recorded(ctx: Any) -> list[tuple[str, float, float, str | None]]:
    """The spans recorded for the request ``ctx`` so far."""
    return ctx.extra.get(SPANS_KEY) or []


def _record(name: str, started: float, error: BaseException | None) -> None:
    ctx = current_context()
    spans = ctx.extra.get(SPANS_KEY)
    if spans is None:
        spans = ctx.extra[SPANS_KEY] = []
    spans.append((name, started, time.perf_counter(), None if error is None else type(error).__name__))


def _wrapped(span_name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    async def finish(pending: Any, started: float) -> Any:
        try:
            result = await pending
        except BaseException as exc:
            _record(span_name, started, exc)
            raise
        _record(span_name, started, None)
        return result

    def call(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            result = fn(*args)
        except BaseException as exc:  # an exit (ExitSignal) too: the span still ends
            _record(span_name, started, None if type(exc).__name__ == "ExitSignal" else exc)
            raise
        if inspect.isawaitable(result):
            return finish(result, started)
        _record(span_name, started, None)
        return result

    call.__name__ = getattr(fn, "__name__", span_name)
    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call


def instrument_registry(registry: PluginRegistry, settings: Any) -> PluginRegistry:
    """Wrap the handlers of the instrumented plugin phases (in place)."""
    phases = [p for p in _PLUGIN_PHASES if enabled(settings, f"plugin_{p}")]
    if not phases:
        return registry
    for spec in registry:
        handlers = dict(spec.handlers)
        for phase in phases:
            fn = handlers.get(phase)
            if fn is not None:
                handlers[phase] = _wrapped(f"kong.{phase}.plugin.{spec.name}", fn)
        spec.handlers = handlers
    return registry
