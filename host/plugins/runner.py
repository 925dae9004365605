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

A handler that raises is wrapped in :class:`PluginError` (plugin, phase, reason) and
the proxy turns it into a 500; ``kong.response.exit`` raises :class:`ExitSignal`,
which only stops the current handler.  Fault accounting happens where the
:class:`PluginError` is made (:meth:`PhaseRunner._failed`), so a handler that succeeds
costs nothing extra: the violation is counted in ``kong_plugin_errors_total``
(:mod:`host.metrics`) and recorded by the plugin instance's circuit breaker
(:mod:`host.plugins.breaker`).  While some breaker is open, each request checks its own
plugins against the open ones (:meth:`PhaseRunner._without_open`); a handler that waits
is bounded by ``plugin_phase_timeout`` (:mod:`host.plugins.watchdog`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from host.plugins.breaker import GATING_PHASES, Breaker, OpenBreaker
from host.plugins.faults import BREAKER_MESSAGE, PluginError, TracebackGate, log_plugin_error, reason_of
from host.plugins.iterator import NO_PLUGINS, Collected, HandlerCall, Plan
from host.plugins.watchdog import PluginTimeout, Watchdog
from pdk.errors import ExitSignal
from pdk.phases import Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.metrics import GatewayMetrics

__all__ = ["PhaseRunner", "PluginError", "log_plugin_error", "reason_of", "BREAKER_MESSAGE"]

_ACCESS = int(Phase.access)  # plain ints: IntFlag arithmetic is slow Python code
_REWRITE = int(Phase.rewrite)
_RESPONSE = int(Phase.response)
_HEADER_FILTER = int(Phase.header_filter)
_BODY_FILTER = int(Phase.body_filter)
_LOG = int(Phase.log)
_REWRITE_ONLY = frozenset({"rewrite"})
_clock = time.perf_counter


class PhaseRunner:
    """Runs one phase for one request; one per worker.

    ``breaker`` (default: off), ``metrics`` (default: none) and ``phase_timeout`` (the
    budget in seconds of a handler that waits; default: none) are the worker's fault
    accounting.
    """

    def __init__(
        self,
        kong: Any,
        *,
        breaker: Breaker | None = None,
        metrics: GatewayMetrics | None = None,
        phase_timeout: float | None = None,
    ) -> None:
        self.kong = kong
        self.breaker = breaker if breaker is not None else Breaker(threshold=0)
        #: the breaker's dict of open breakers: empty (falsy) while every plugin runs
        self._open = self.breaker.open
        self.metrics = metrics
        self.watchdog = Watchdog(phase_timeout) if phase_timeout else None
        self.tracebacks = TracebackGate()
        if metrics is not None:  # kong_plugin_latency_ms, while the prometheus plugin is on
            from host.metrics import track_runner

            track_runner(self)

    # -- optional timing (kong_plugin_latency_ms) ------------------------------------------
    def set_timing(self, observe: Callable[[tuple[str, str], float], None] | None) -> None:
        """Time every handler call (``observe((plugin, phase), ms)``), or stop (``None``).

        On: ``_start`` and ``start_log`` are replaced on this instance by the same methods
        with ``observe`` bound, which time each handler in their loop.  Off: the class's
        own methods run, and the runner does no work at all for timing.
        """
        self.__dict__.pop("_start", None)
        self.__dict__.pop("start_log", None)
        if observe is None:
            return
        self._start = partial(PhaseRunner._start, self, observe=observe)  # type: ignore[method-assign]
        self.start_log = partial(PhaseRunner.start_log, self, observe=observe)  # type: ignore[method-assign]

    # -- failures ------------------------------------------------------------------------
    def _failed(self, name: str, plugin_id: str | None, phase: str, exc: BaseException) -> PluginError:
        """A violation: counted, recorded by the breaker, returned as a PluginError to raise."""
        err = PluginError(name, phase, exc, plugin_id)
        self.tracebacks.admit(err)
        metrics = self.metrics
        if metrics is not None:
            metrics.plugin_error(name, phase, err.reason)
        if self.breaker.record(name, plugin_id, err.reason) is not None and metrics is not None:
            metrics.breaker_opened(name)
        return err

    async def _wait(self, pending: Awaitable[Any], name: str, plugin_id: str | None, phase: str) -> None:
        """Await a handler that started waiting, within ``plugin_phase_timeout``;
        its failure becomes a :class:`PluginError` (``ExitSignal`` passes through)."""
        watchdog = self.watchdog
        if watchdog is None:
            try:
                await pending
            except Exception as exc:  # noqa: BLE001 - any plugin failure is contained
                raise self._failed(name, plugin_id, phase, exc) from exc
            return
        wait = watchdog.enter()
        try:
            await pending
        except asyncio.CancelledError:
            if not wait.fired:  # not ours: the worker is stopping
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            raise self._failed(name, plugin_id, phase, PluginTimeout(watchdog.budget)) from None
        except Exception as exc:  # noqa: BLE001 - any plugin failure is contained
            raise self._failed(name, plugin_id, phase, exc) from exc
        finally:
            watchdog.leave(wait)

    # -- open breakers -------------------------------------------------------------------
    def _without_open(
        self, ctx: Context, collected: Collected, phases: frozenset[str]
    ) -> tuple[Collected, bool]:
        """``collected`` without the instances whose breaker is open, and whether the
        request was refused (fail-closed: a 503 is stored on ``ctx`` as an exit)."""
        breaker = self.breaker
        if not breaker.active():
            return collected, False
        kept, dropped = breaker.split(collected)
        if dropped:
            entry = breaker.blocking(dropped, phases)
            if entry is not None:
                self._refuse(ctx, entry)
                return kept, True
        return kept, False

    def _refuse(self, ctx: Context, entry: OpenBreaker) -> None:
        """Answer 503 for an open breaker (as an exit: the later phases of the others run)."""
        from host.proxy.respond import kong_error  # the proxy imports this module

        if self.metrics is not None:
            self.metrics.breaker_rejected(entry.plugin)
        kong_error(ctx, 503, BREAKER_MESSAGE, {"Retry-After": str(self.breaker.retry_after(entry))})

    # -- calling handlers ----------------------------------------------------------------
    def _start(
        self,
        ctx: Context,
        calls: Sequence[HandlerCall],
        phase: str,
        first: int = 0,
        observe: Callable[[tuple[str, str], float], None] | None = None,
    ) -> Coroutine[Any, Any, None] | None:
        """Call handlers in order until one exits (``kong.response.exit``) or waits.

        A sync handler is a plain call; an async one (a Lua handler, an ``async def``)
        may finish at once and return ``None``.  Returns ``None`` when the handlers are
        done, else a coroutine that awaits the one waiting and runs the rest: most
        requests run their plugins without creating a single coroutine.  ``observe``
        (bound by :meth:`set_timing`) gets each handler's time, until an async one
        finished.
        """
        kong = self.kong
        name = ""
        plugin_id = None
        try:
            for index in range(first, len(calls)):
                fn, is_async, conf, name, plugin_id = calls[index]
                ctx.plugin_name = name
                ctx.plugin_id = plugin_id
                if observe is not None:
                    start = _clock()
                    try:
                        pending = fn(kong, conf)
                    except BaseException:
                        observe((name, phase), (_clock() - start) * 1000)
                        raise
                    if is_async and pending is not None:
                        pending = _timed(pending, start, (name, phase), observe)
                        return self._resume(ctx, calls, phase, index, pending)
                    observe((name, phase), (_clock() - start) * 1000)
                elif is_async:
                    pending = fn(kong, conf)
                    if pending is not None:
                        return self._resume(ctx, calls, phase, index, pending)
                else:
                    fn(kong, conf)
        except ExitSignal:
            pass
        except Exception as exc:  # noqa: BLE001 - any plugin failure is contained
            raise self._failed(name, plugin_id, phase, exc) from exc
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
            await self._wait(pending, name, plugin_id, phase)
        except ExitSignal:
            return
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
    def collected(self, ctx: Context) -> Collected:
        """The configs of the later phases: collected in access, else the global ones
        (without those whose breaker is open)."""
        collected = ctx.collected
        if collected is None:
            collected = ctx.snapshot.plugins.global_plugins  # type: ignore[union-attr]
            if self._open and self.breaker.active():
                collected = self.breaker.split(collected)[0]
        return collected  # type: ignore[no-any-return]

    def has_phase(self, ctx: Context, phase: str) -> bool:
        """Whether any plugin of the request implements ``phase`` (to skip the work when none)."""
        collected = ctx.collected
        if collected is None:
            collected = self.collected(ctx)
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
        global_plugins = ctx.snapshot.plugins.global_plugins  # type: ignore[union-attr]
        if self._open:
            global_plugins, refused = self._without_open(ctx, global_plugins, _REWRITE_ONLY)
            if refused:
                return
        calls = global_plugins.calls.get("rewrite")
        if calls:
            await self._run(ctx, calls, "rewrite")

    def access(self, ctx: Context, plan: Plan) -> Coroutine[Any, Any, None] | None:
        """Collect the configs for the later phases and run ``access`` handlers.

        Returns ``None`` when the handlers are done, else a coroutine to await (see
        :meth:`_start`).  Like Kong, configs are still collected after an exit or an
        error, so the later phases (header_filter, body_filter, log) of every plugin
        still run.  An instance whose breaker is open is left out; in fail-closed mode the
        request is then answered 503 before any access handler runs.
        """
        ctx.phase = _ACCESS
        static = plan.static
        if static is None:
            return self._access_resolved(ctx, plan)
        refused = False
        if self._open:
            static, refused = self._without_open(ctx, static, GATING_PHASES)
        ctx.plugins = static.instances
        ctx.collected = static
        calls = static.calls.get("access")
        return self._start(ctx, calls, "access") if calls and not refused else None

    async def _access_resolved(self, ctx: Context, plan: Plan) -> None:
        """Access when the configs depend on the consumer: resolved plugin by plugin."""
        collected = []
        failure: PluginError | None = None
        open_ = self.breaker.active() if self._open else None
        for cand in plan.access_candidates:
            consumer = ctx.consumer
            inst = cand.resolve(consumer["id"] if consumer else "")
            if inst is None:
                continue
            if open_ and inst.id in open_:  # its breaker is open: left out, or a 503
                entry = self.breaker.blocking((inst,), GATING_PHASES)
                if entry is not None and not ctx.exited and failure is None:
                    self._refuse(ctx, entry)
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
        if plan.access_rank:  # access ran in the dynamic order; the other phases keep PRIORITY's
            collected.sort(key=lambda inst: inst.spec.sort_key())
        ctx.plugins = tuple(collected)
        ctx.collected = Collected(collected, plan.access_rank)
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

    def start_log(
        self,
        ctx: Context,
        calls: Sequence[HandlerCall] | None = None,
        observe: Callable[[tuple[str, str], float], None] | None = None,
    ) -> Coroutine[Any, Any, None] | None:
        """Run the ``log`` handlers now, up to the first one that waits for I/O.

        Returns ``None`` when all of them finished (sync handlers, or async ones that
        returned at once), else a coroutine finishing the phase, for the caller to
        schedule as a task (the response is out already: it must not wait).  A failing
        handler is logged and the others still run.  ``observe``: as in :meth:`_start`.
        """
        ctx.phase = _LOG
        if calls is None:
            calls = self.collected(ctx).calls.get("log", ())
        kong = self.kong
        for index, (fn, is_async, conf, name, plugin_id) in enumerate(calls):
            ctx.plugin_name = name
            ctx.plugin_id = plugin_id
            pending = None
            if observe is not None:
                start = _clock()
            try:
                pending = fn(kong, conf)
            except ExitSignal:
                continue
            except Exception as exc:  # noqa: BLE001 - logged, the other handlers still run
                log_plugin_error(ctx, self._failed(name, plugin_id, "log", exc))
                continue
            finally:
                ctx.plugin_name = None
                ctx.plugin_id = None
                if observe is not None and not (is_async and pending is not None):
                    observe((name, "log"), (_clock() - start) * 1000)
            if is_async and pending is not None:
                if observe is not None:
                    pending = _timed(pending, start, (name, "log"), observe)
                return self._finish_log(ctx, pending, calls[index], tuple(calls[index + 1 :]))
        return None

    async def _finish_log(
        self, ctx: Context, pending: Awaitable[Any], call: HandlerCall, rest: tuple[HandlerCall, ...]
    ) -> None:
        """The rest of :meth:`start_log` once a handler waits: that one, then the others."""
        _, _, _, name, plugin_id = call
        ctx.plugin_name = name
        ctx.plugin_id = plugin_id
        try:
            await self._wait(pending, name, plugin_id, "log")
        except ExitSignal:
            pass
        except PluginError as err:  # logged, the other handlers still run
            log_plugin_error(ctx, err)
        finally:
            ctx.plugin_name = None
            ctx.plugin_id = None
        for later in rest:
            try:
                await self._run(ctx, (later,), "log")
            except PluginError as err:
                log_plugin_error(ctx, err)


async def _timed(
    pending: Awaitable[Any],
    start: float,
    labels: tuple[str, str],
    observe: Callable[[tuple[str, str], float], None],
) -> Any:
    """``pending`` (a handler that started waiting at ``start``), observed when it ends."""
    try:
        return await pending
    finally:
        observe(labels, (_clock() - start) * 1000)
