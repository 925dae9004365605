"""The phase runner: calls plugin handlers in priority order, phase by phase.

``access`` is the collecting phase (as in Kong): for each candidate plugin, in
order, the config for the current (route, service, consumer) is resolved at the
plugin's turn and recorded in ``ctx.plugins`` for the later phases; the plugin's
``access`` handler is called unless an earlier plugin already ended the request
with ``kong.response.exit``.  Later phases iterate ``ctx.plugins``; when access
never ran (no route matched, or rewrite exited) they fall back to the global
configs, like Kong.

A handler that raises is wrapped in :class:`PluginError` (plugin, phase) and the
proxy turns it into a 500; ``kong.response.exit`` raises :class:`ExitSignal`,
which only stops the current handler.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from host.plugins.iterator import PluginInstance
from pdk.errors import ExitSignal
from pdk.phases import Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["PhaseRunner", "PluginError"]

log = logging.getLogger("moongate.plugins")

_ACCESS = int(Phase.access)  # plain ints: IntFlag arithmetic is slow Python code
_REWRITE = int(Phase.rewrite)
_RESPONSE = int(Phase.response)
_HEADER_FILTER = int(Phase.header_filter)
_BODY_FILTER = int(Phase.body_filter)
_LOG = int(Phase.log)


class PluginError(Exception):
    """A plugin handler raised; carries the plugin name and phase for the log line."""

    def __init__(self, plugin: str, phase: str, cause: BaseException) -> None:
        super().__init__(f"plugin '{plugin}' failed in {phase}: {cause!r}")
        self.plugin = plugin
        self.phase = phase
        self.cause = cause


class PhaseRunner:
    """Runs one phase for one request; stateless, one per worker."""

    def __init__(self, kong: Any) -> None:
        self.kong = kong

    async def _call(self, ctx: Context, inst: PluginInstance, phase: str) -> bool:
        """Call one handler; returns True when it ended the request with exit."""
        fn, is_async = inst.calls[phase]
        ctx.plugin_name = inst.spec.name
        ctx.plugin_id = inst.id
        try:
            if is_async:
                await fn(self.kong, inst.conf)
            else:
                fn(self.kong, inst.conf)
        except ExitSignal:
            return True
        except Exception as exc:  # noqa: BLE001 - any plugin failure is contained
            raise PluginError(inst.spec.name, phase, exc) from exc
        finally:
            ctx.plugin_name = None
            ctx.plugin_id = None
        return False

    async def rewrite(self, ctx: Context) -> None:
        """Global plugins' ``rewrite`` handlers (no route is known yet)."""
        ctx.phase = _REWRITE
        for inst in ctx.snapshot.plugins.globals_for("rewrite"):  # type: ignore[union-attr]
            if await self._call(ctx, inst, "rewrite"):
                return

    async def access(self, ctx: Context, candidates: list[Any]) -> None:
        """Collect the configs for the later phases and run ``access`` handlers."""
        ctx.phase = _ACCESS
        collected = ctx.plugins
        failure: PluginError | None = None
        for cand in candidates:
            consumer = ctx.consumer
            inst = cand.resolve(consumer["id"] if consumer else "")
            if inst is None:
                continue
            # like Kong, configs are still collected after an exit or an error, so the
            # later phases (header_filter, body_filter, log) of every plugin still run
            collected.append(inst)
            if ctx.exited or failure is not None or "access" not in inst.calls:
                continue
            try:
                await self._call(ctx, inst, "access")
            except PluginError as err:
                failure = err
        ctx.extra["access_ran"] = True
        if failure is not None:
            raise failure

    def _downstream(self, ctx: Context, phase: str) -> list[PluginInstance]:
        if ctx.extra.get("access_ran"):
            return ctx.plugins
        return ctx.snapshot.plugins.globals_for(phase)  # type: ignore[union-attr]

    def wants_response_phase(self, ctx: Context) -> bool:
        """Whether some collected plugin implements ``response`` (the body is buffered then)."""
        return any("response" in inst.calls for inst in ctx.plugins)

    def has_phase(self, ctx: Context, phase: str) -> bool:
        plugins = self._downstream(ctx, phase)
        if not plugins:
            return False
        return any(phase in inst.calls for inst in plugins)

    async def response(self, ctx: Context) -> None:
        ctx.phase = _RESPONSE
        for inst in ctx.plugins:
            if "response" in inst.calls and await self._call(ctx, inst, "response"):
                return

    async def header_filter(self, ctx: Context) -> None:
        ctx.phase = _HEADER_FILTER
        for inst in self._downstream(ctx, "header_filter"):
            if "header_filter" in inst.calls and await self._call(ctx, inst, "header_filter"):
                return

    async def body_filter(self, ctx: Context, chunk: bytes, eof: bool) -> bytes:
        """Pass one chunk through every ``body_filter`` handler; returns the chunk to send."""
        ctx.phase = _BODY_FILTER
        ctx.body_chunk = chunk
        ctx.body_eof = eof
        for inst in self._downstream(ctx, "body_filter"):
            if "body_filter" in inst.calls:
                await self._call(ctx, inst, "body_filter")
        out = ctx.body_chunk
        return out or b""

    def filters(self, ctx: Context, phase: str) -> bool:
        """Whether any plugin of the request implements ``phase`` (to skip the work when none)."""
        return self.has_phase(ctx, phase)

    async def log(self, ctx: Context) -> None:
        """``log`` handlers; a failing one is logged and the others still run."""
        ctx.phase = _LOG
        for inst in self._downstream(ctx, "log"):
            if "log" not in inst.calls:
                continue
            try:
                await self._call(ctx, inst, "log")
            except PluginError as err:
                log_plugin_error(ctx, err)


def log_plugin_error(ctx: Context, err: PluginError) -> None:
    """The one log line for a failed plugin: plugin, phase, route and request id."""
    route = ctx.route or {}
    log.error(
        "plugin '%s' failed in phase '%s' (route %s, request %s): %s",
        err.plugin,
        err.phase,
        route.get("name") or route.get("id") or "-",
        ctx.request_id,
        err.cause,
        exc_info=(type(err.cause), err.cause, err.cause.__traceback__),
        extra={
            "plugin": err.plugin,
            "phase": err.phase,
            "request_id": ctx.request_id,
            "route": route.get("name"),
        },
    )
