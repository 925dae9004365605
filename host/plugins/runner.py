"""The phase runner: calls plugin handlers in priority order, phase by phase.

``access`` is the collecting phase (as in Kong): for each candidate plugin, in
order, the config for the current (route, service, consumer) is resolved at the
plugin's turn and recorded in ``ctx.plugins`` for the later phases; the plugin's
``access`` handler is called unless an earlier plugin already ended the request
with ``kong.response.exit``.  Later phases use ``ctx.collected`` (the same configs
with their handlers listed per phase); when access never ran (no route matched, or
rewrite exited) they fall back to the global configs, like Kong.

Cost matters here: each phase is one loop over precomputed ``(fn, is_async, conf,
name, id)`` tuples (:class:`~host.plugins.iterator.Collected`), a sync handler is
called directly and only an async one (a Lua handler, an ``async def``) is awaited,
and a phase no plugin implements is skipped by the caller with :meth:`has_phase`
(one dict lookup).  When no configuration depends on the consumer, the collected set
is computed once per (route, service) and shared by every request.

A handler that raises is wrapped in :class:`PluginError` (plugin, phase) and the
proxy turns it into a 500; ``kong.response.exit`` raises :class:`ExitSignal`,
which only stops the current handler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from host.plugins.iterator import NO_PLUGINS, Collected, HandlerCall, Plan
from pdk.errors import ExitSignal
from pdk.phases import Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["PhaseRunner", "PluginError", "log_plugin_error"]

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

    # -- calling handlers ----------------------------------------------------------------
    def _start(
        self, ctx: Context, calls: Sequence[HandlerCall], phase: str, first: int = 0
    ) -> Coroutine[Any, Any, None] | None:
        """Call handlers in order until one exits (``kong.response.exit``) or waits.

        A sync handler is a plain call; an async one (a Lua handler, an ``async def``)
        may finish at once and return ``None``.  Returns ``None`` when the handlers are
        done, else a coroutine that awaits the one waiting and runs the rest: most
        requests run their plugins without creating a single coroutine.
        """
        kong = self.kong
        name = ""
        try:
            for index in range(first, len(calls)):
                fn, is_async, conf, name, plugin_id = calls[index]
                ctx.plugin_name = name
                ctx.plugin_id = plugin_id
                if is_async:
                    pending = fn(kong, conf)
                    if pending is not None:
                        return self._resume(ctx, calls, phase, index, pending)
                else:
                    fn(kong, conf)
        except ExitSignal:
            pass
        except Exception as exc:  # noqa: BLE001 - any plugin failure is contained
            raise PluginError(name, phase, exc) from exc
        finally:
            ctx.plugin_name = None
            ctx.plugin_id = None
        return None

    async def _resume(
        self, ctx: Context, calls: Sequence[HandlerCall], phase: str, index: int, pending: Awaitable[Any]
    ) -> None:
        """:meth:`_start` after handler ``index`` started waiting: await it, run the rest."""
        _, _, _, name, plugin_id = calls[index]
        ctx.plugin_name = name
        ctx.plugin_id = plugin_id
        try:
            await pending
        except ExitSignal:
            return
        except Exception as exc:  # noqa: BLE001 - any plugin failure is contained
            raise PluginError(name, phase, exc) from exc
        finally:
            ctx.plugin_name = None
            ctx.plugin_id = None
        rest = self._start(ctx, calls, phase, index + 1)
        if rest is not None:
            await rest

    async def _run(self, ctx: Context, calls: Sequence[HandlerCall], phase: str) -> None:
        """Call handlers in order until one exits."""
        rest = self._start(ctx, calls, phase)
        if rest is not None:
            await rest

    async def _run_each(self, ctx: Context, calls: Iterable[HandlerCall], phase: str) -> None:
        """Call every handler even when one exits (body_filter)."""
        for call in calls:
            await self._run(ctx, (call,), phase)

    # -- which plugins run ---------------------------------------------------------------
    @staticmethod
    def collected(ctx: Context) -> Collected:
        """The configs of the later phases: collected in access, else the global ones."""
        collected = ctx.collected
        if collected is None:
            return ctx.snapshot.plugins.global_plugins  # type: ignore[union-attr]
        return collected  # type: ignore[no-any-return]

    def has_phase(self, ctx: Context, phase: str) -> bool:
        """Whether any plugin of the request implements ``phase`` (to skip the work when none)."""
        collected = ctx.collected
        if collected is None:
            collected = ctx.snapshot.plugins.global_plugins  # type: ignore[union-attr]
        return phase in collected.calls

    filters = has_phase

    def wants_response_phase(self, ctx: Context) -> bool:
        """Whether some collected plugin implements ``response`` (the body is buffered then)."""
        collected = ctx.collected
        return collected is not None and "response" in collected.calls

    def skip_access(self, ctx: Context) -> None:
        """Access with no candidate plugin: the later phases run no plugin either."""
        ctx.collected = NO_PLUGINS

    # -- the phases ----------------------------------------------------------------------
    async def rewrite(self, ctx: Context) -> None:
        """Global plugins' ``rewrite`` handlers (no route is known yet)."""
        ctx.phase = _REWRITE
        calls = ctx.snapshot.plugins.global_plugins.calls.get("rewrite")  # type: ignore[union-attr]
        if calls:
            await self._run(ctx, calls, "rewrite")

    def access(self, ctx: Context, plan: Plan) -> Coroutine[Any, Any, None] | None:
        """Collect the configs for the later phases and run ``access`` handlers.

        Returns ``None`` when the handlers are done, else a coroutine to await (see
        :meth:`_start`).  Like Kong, configs are still collected after an exit or an
        error, so the later phases (header_filter, body_filter, log) of every plugin
        still run.
        """
        ctx.phase = _ACCESS
        static = plan.static
        if static is None:
            return self._access_resolved(ctx, plan)
        ctx.plugins = static.instances
        ctx.collected = static
        calls = static.calls.get("access")
        return self._start(ctx, calls, "access") if calls else None

    async def _access_resolved(self, ctx: Context, plan: Plan) -> None:
        """Access when the configs depend on the consumer: resolved plugin by plugin."""
        collected = []
        failure: PluginError | None = None
        for cand in plan.candidates:
            consumer = ctx.consumer
            inst = cand.resolve(consumer["id"] if consumer else "")
            if inst is None:
                continue
            collected.append(inst)
            if ctx.exited or failure is not None:
                continue
            call = inst.calls.get("access")
            if call is None:
                continue
            try:
                await self._run(ctx, ((call[0], call[1], inst.conf, inst.spec.name, inst.id),), "access")
            except PluginError as err:
                failure = err
        ctx.plugins = tuple(collected)
        ctx.collected = Collected(collected)
        if failure is not None:
            raise failure

    async def response(self, ctx: Context) -> None:
        ctx.phase = _RESPONSE
        collected = ctx.collected
        calls = collected.calls.get("response") if collected is not None else None
        if calls:
            await self._run(ctx, calls, "response")

    async def header_filter(self, ctx: Context) -> None:
        ctx.phase = _HEADER_FILTER
        calls = self.collected(ctx).calls.get("header_filter")
        if calls:
            await self._run(ctx, calls, "header_filter")

    async def body_filter(self, ctx: Context, chunk: bytes, eof: bool) -> bytes:
        """Pass one chunk through every ``body_filter`` handler; returns the chunk to send."""
        ctx.phase = _BODY_FILTER
        ctx.body_chunk = chunk
        ctx.body_eof = eof
        calls = self.collected(ctx).calls.get("body_filter")
        if calls:
            await self._run_each(ctx, calls, "body_filter")
        return ctx.body_chunk or b""

    async def log(self, ctx: Context) -> None:
        """``log`` handlers; a failing one is logged and the others still run."""
        rest = self.start_log(ctx)
        if rest is not None:
            await rest

    def start_log(self, ctx: Context) -> Coroutine[Any, Any, None] | None:
        """Run the ``log`` handlers now, up to the first one that waits for I/O.

        Returns ``None`` when all of them finished (sync handlers, or async ones that
        returned at once), else a coroutine finishing the phase, for the caller to
        schedule as a task (the response is out already: it must not wait).  A failing
        handler is logged and the others still run.
        """
        ctx.phase = _LOG
        calls = self.collected(ctx).calls.get("log", ())
        kong = self.kong
        for index, (fn, is_async, conf, name, plugin_id) in enumerate(calls):
            ctx.plugin_name = name
            ctx.plugin_id = plugin_id
            try:
                pending = fn(kong, conf)
            except ExitSignal:
                continue
            except Exception as exc:  # noqa: BLE001 - logged, the other handlers still run
                log_plugin_error(ctx, PluginError(name, "log", exc))
                continue
            finally:
                ctx.plugin_name = None
                ctx.plugin_id = None
            if is_async and pending is not None:
                return self._finish_log(ctx, pending, calls[index], calls[index + 1 :])
        return None

    async def _finish_log(
        self, ctx: Context, pending: Awaitable[Any], call: HandlerCall, rest: tuple[HandlerCall, ...]
    ) -> None:
        """The rest of :meth:`start_log` once a handler waits: that one, then the others."""
        _, _, _, name, plugin_id = call
        ctx.plugin_name = name
        ctx.plugin_id = plugin_id
        try:
            await pending
        except ExitSignal:
            pass
        except Exception as exc:  # noqa: BLE001 - logged, the other handlers still run
            log_plugin_error(ctx, PluginError(name, "log", exc))
        finally:
            ctx.plugin_name = None
            ctx.plugin_id = None
        for later in rest:
            try:
                await self._run(ctx, (later,), "log")
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
