"""The gateway's Prometheus metrics, served at ``GET /metrics`` on the status listener.

The gateway's own series (each worker counts its own; see "Several workers" below):

``kong_plugin_errors_total{plugin,phase,reason}``
    Plugin violations: a handler that raised (``reason="error"``), waited longer than
    ``plugin_phase_timeout`` (``timeout``), ran out of memory (``memory``), or any
    other reason a sandbox gives its exceptions (``exc.reason``).
``kong_plugin_breaker_trips_total{plugin}``
    Times a plugin instance's circuit breaker opened.
``kong_plugin_breaker_rejections_total{plugin}``
    Requests answered 503 because an instance of ``plugin`` they would have run has
    its breaker open (fail-closed mode).
``kong_plugin_breakers_open{plugin}``
    Instances of ``plugin`` whose breaker is open now (read at scrape time).
``kong_plugin_latency_ms{plugin,phase}``
    Time spent in each plugin's handlers (a histogram), measured only while the
    prometheus plugin is enabled (:func:`set_plugin_timing`): otherwise the phase
    runner pays nothing for it.
``kong_log_queue_dropped_total{plugin}``
    Log entries a log plugin dropped (its queue full, an entry too large, or a batch
    given up after its retries): :func:`log_queue_dropped`.  The series of a plugin
    appears (at 0) when its first queue or sender is made.

Exporters (the prometheus plugin) add their series through :func:`add_exporter`:
``flush()`` is called before each scrape, ``collect()`` yields families computed at
scrape time.  Per-request values are counted in plain Python (:class:`LocalCounter`,
:class:`LocalHistogram`) and pushed into prometheus-client metrics by :func:`flush`
at most a second later (as Kong's worker counters sync to its shared dict), so a
request costs a few dict operations instead of prometheus-client's locks.

**Several workers.**  When ``PROMETHEUS_MULTIPROC_DIR`` is set (the supervisor of
``--workers N`` sets it to a fresh directory), every counter and histogram lives in
that directory (prometheus-client's multiprocess mode) and ``/metrics`` of any worker
answers the sum of all of them (``MultiProcessCollector``); the series computed at
scrape time (open breakers, node information) are the answering worker's own.
Without it, each worker serves its in-process registries.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # pragma: no cover
    from host.plugins.breaker import Breaker

__all__ = [
    "GatewayMetrics",
    "CONTENT_TYPE",
    "PROCESS_REGISTRY",
    "LocalCounter",
    "LocalHistogram",
    "add_exporter",
    "arm",
    "FlushState",
    "flush",
    "multiprocess_dir",
    "use_multiprocess_values",
    "set_plugin_timing",
    "plugin_timing",
    "PLUGIN_LATENCY_BUCKETS",
    "log_queue_dropped",
]

#: the Content-Type of ``GET /metrics``: the text format every Prometheus version reads
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: buckets of ``kong_plugin_latency_ms``: handlers take microseconds to seconds
PLUGIN_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000)
#: how long a per-request value may wait in a local accumulator before it is flushed
FLUSH_INTERVAL = 1.0

# Kong's exposition has no ``*_created`` series next to its counters and histograms
disable_created_metrics()


def multiprocess_dir() -> str | None:
    """The shared directory of multiprocess mode, or ``None``."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")  # noqa: SIM112


def use_multiprocess_values() -> None:
    """Make metrics created from now on file-backed when multiprocess mode is on.

    prometheus-client picks its value class when it is imported; the supervisor may set
    the variable later (before the worker builds its gateway), so pick again here.
    """
    if multiprocess_dir() and values.ValueClass is values.MutexValue:
        values.ValueClass = values.get_value_class()


class Exporter(Protocol):
    def flush(self) -> None: ...
    def collect(self) -> Iterable[Metric]: ...


_EXPORTERS: list[Exporter] = []
#: the registry of the exporters' per-request metrics (one per process, as Kong's per node)
PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)


def add_exporter(exporter: Exporter) -> None:
    """Register an exporter (once per process); its series join every gateway's ``/metrics``."""
    if exporter not in _EXPORTERS:
        _EXPORTERS.append(exporter)


# -- local accumulators ---------------------------------------------------------------------
_LOCALS: list[LocalCounter | LocalHistogram] = []
#: the armed flush, as (loop, timer handle): at most one
_flush_armed: list[tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle]] = []
#: integer values below this find their histogram bucket in a table (no search)
BUCKET_TABLE_SIZE = 2048


class FlushState:
    """Whether a flush is armed: checked on every observation (one attribute read)."""

    armed = False


def _arm() -> None:
    """Schedule one flush within FLUSH_INTERVAL (once until it ran)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (tests, tools): the next scrape flushes
        return
    if _flush_armed:
        armed_loop, handle = _flush_armed[0]
        if armed_loop is loop and not handle.cancelled():
            FlushState.armed = True
            return
        handle.cancel()
        _flush_armed.clear()
    _flush_armed.append((loop, loop.call_later(FLUSH_INTERVAL, flush)))
    FlushState.armed = True


def arm() -> None:
    """Values were added to cells or rows directly (:meth:`LocalCounter.cell`,
    :meth:`LocalHistogram.row`): make sure a flush comes."""
    if not FlushState.armed:
        _arm()


def flush() -> None:
    """Push every pending local value into its prometheus-client metric."""
    for _, handle in _flush_armed:
        handle.cancel()
    _flush_armed.clear()
    FlushState.armed = False
    for local in _LOCALS:
        local.flush()


class LocalCounter:
    """Increments of a labelled ``Counter``, summed per label tuple until :func:`flush`.

    Each label tuple has one cell (a one-item list) for the life of the process; a
    caller that counts the same labels often may keep the cell (:meth:`cell`) and add
    to ``cell[0]`` itself, then call :func:`arm`.
    """

    __slots__ = ("metric", "cells")

    def __init__(self, metric: Counter) -> None:
        self.metric = metric
        self.cells: dict[tuple[str, ...], list[float]] = {}
        _LOCALS.append(self)

    def cell(self, labels: tuple[str, ...]) -> list[float]:
        """The cell of ``labels`` (made on first use)."""
        found = self.cells.get(labels)
        if found is None:
            found = self.cells[labels] = [0]
        return found

    def inc(self, labels: tuple[str, ...], amount: float = 1) -> None:
        cell = self.cells.get(labels) or self.cell(labels)
        cell[0] += amount
        if not FlushState.armed:
            _arm()

    def flush(self) -> None:
        for labels, cell in self.cells.items():
            amount = cell[0]
            if amount:
                cell[0] = 0
                self.metric.labels(*labels).inc(amount)


class LocalHistogram:
    """Observations of a labelled ``Histogram``: bucket counts and sums per label tuple.

    A label tuple's row (``[count per bucket..., sum]``) lives as long as the process;
    :meth:`add` observes into a row a caller kept (:meth:`row`), then :func:`arm`.
    Integer values below :data:`BUCKET_TABLE_SIZE` find their bucket in a table.
    """

    __slots__ = ("metric", "bounds", "rows", "size", "table")

    def __init__(self, metric: Histogram, buckets: Iterable[float]) -> None:
        self.metric = metric
        self.bounds = [*map(float, buckets), float("inf")]
        self.size = len(self.bounds)
        self.rows: dict[tuple[str, ...], list[float]] = {}
        self.table = [bisect_left(self.bounds, v) for v in range(BUCKET_TABLE_SIZE)]
        _LOCALS.append(self)

    def row(self, labels: tuple[str, ...]) -> list[float]:
        """The row of ``labels`` (made on first use)."""
        found = self.rows.get(labels)
        if found is None:
            found = self.rows[labels] = [0] * (self.size + 1)
        return found

    def add(self, row: list[float], value: float) -> None:
        """Observe ``value`` into ``row`` (a caller must :func:`arm`)."""
        if value.__class__ is int and 0 <= value < BUCKET_TABLE_SIZE:
            row[self.table[value]] += 1
        else:
            row[bisect_left(self.bounds, value)] += 1
        row[-1] += value

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        self.add(self.rows.get(labels) or self.row(labels), value)
        if not FlushState.armed:
            _arm()

    def flush(self) -> None:
        size = self.size
        for labels, row in self.rows.items():
            if not any(row[:size]):
                continue
            child = self.metric.labels(*labels)
            # prometheus-client keeps one non-cumulative value per bucket and the sum
            buckets = child._buckets  # noqa: SLF001 - batched observe()
            for index in range(size):
                if row[index]:
                    buckets[index].inc(row[index])
                    row[index] = 0
            child._sum.inc(row[-1])  # noqa: SLF001
            row[-1] = 0


# -- plugin latency (the phase runner's optional timing) -----------------------------------
_RUNNERS: weakref.WeakSet[Any] = weakref.WeakSet()
_plugin_latency: LocalHistogram | None = None


def _latency() -> LocalHistogram:
    global _plugin_latency
    if _plugin_latency is None:
        use_multiprocess_values()
        metric = Histogram(
            "kong_plugin_latency_ms",
            "Time spent in plugin handlers, by plugin and phase (ms).",
            ("plugin", "phase"),
            buckets=PLUGIN_LATENCY_BUCKETS,
            registry=PROCESS_REGISTRY,
        )
        _plugin_latency = LocalHistogram(metric, PLUGIN_LATENCY_BUCKETS)
    return _plugin_latency


def plugin_timing() -> Callable[[tuple[str, str], float], None] | None:
    """The observer runners call with ``((plugin, phase), ms)`` while timing is on, else ``None``."""
    return _latency().observe if _timing_on else None


_timing_on = False


def track_runner(runner: Any) -> None:
    """A phase runner whose timing :func:`set_plugin_timing` switches (``runner.set_timing``)."""
    _RUNNERS.add(runner)
    runner.set_timing(plugin_timing())


def set_plugin_timing(enabled: bool) -> None:
    """Turn ``kong_plugin_latency_ms`` on or off in every phase runner of this process."""
    global _timing_on
    _timing_on = enabled
    observer = plugin_timing()
    for runner in list(_RUNNERS):
        runner.set_timing(observer)


# -- log plugins' drops ----------------------------------------------------------------------
_log_dropped: Counter | None = None


def log_queue_dropped(plugin: str, count: int = 0) -> None:
    """Count ``count`` log entries ``plugin`` dropped (``kong_log_queue_dropped_total``);
    ``count=0`` only makes the plugin's series, so that it shows 0 before any drop."""
    global _log_dropped
    if _log_dropped is None:
        use_multiprocess_values()
        _log_dropped = Counter(
            "kong_log_queue_dropped",
            "Log entries dropped by a log plugin's queue (full, too large, or given up after retries).",
            ("plugin",),
            registry=PROCESS_REGISTRY,
        )
    child = _log_dropped.labels(plugin)
    if count:
        child.inc(count)


# -- the gateway's registry -----------------------------------------------------------------
class _OpenBreakers(Collector):
    """``kong_plugin_breakers_open``: counted from the breaker when scraped."""

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "kong_plugin_breakers_open",
            "Plugin instances whose circuit breaker is open, by plugin name.",
            labels=["plugin"],
        )

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for plugin, count in sorted(Tally(e.plugin for e in self.breaker.active().values()).items()):
            family.add_metric([plugin], count)
        yield family

    def describe(self) -> Iterator[Metric]:
        # no samples at registration: collect() would sweep the breaker too early
        yield self._family()


class _Exported(Collector):
    """The exporters' scrape-time families."""

    def collect(self) -> Iterator[Metric]:
        for exporter in list(_EXPORTERS):
            yield from exporter.collect()

    def describe(self) -> Iterator[Metric]:
        return iter(())


class GatewayMetrics:
    """The metrics of one worker, in registries of their own (never the global one)."""

    def __init__(self, breaker: Breaker | None = None) -> None:
        use_multiprocess_values()
        self.registry = CollectorRegistry(auto_describe=True)
        #: the exporters' scrape-time series
        self.exported = CollectorRegistry(auto_describe=True)
        #: every series computed at scrape time (never in the multiprocess files)
        self.live = CollectorRegistry(auto_describe=True)
        self.plugin_errors = Counter(
            "kong_plugin_errors",
            "Plugin violations (exceptions, timeouts, memory errors), by plugin, phase and reason.",
            ("plugin", "phase", "reason"),
            registry=self.registry,
        )
        self.breaker_trips = Counter(
            "kong_plugin_breaker_trips",
            "Times a plugin instance's circuit breaker opened, by plugin name.",
            ("plugin",),
            registry=self.registry,
        )
        self.breaker_rejections = Counter(
            "kong_plugin_breaker_rejections",
            "Requests answered 503 because a plugin they would run has its breaker open.",
            ("plugin",),
            registry=self.registry,
        )
        if breaker is not None:
            open_breakers = _OpenBreakers(breaker)
            self.registry.register(open_breakers)
            self.live.register(open_breakers)
        exported = _Exported()
        self.exported.register(exported)
        self.live.register(exported)

    def plugin_error(self, plugin: str, phase: str, reason: str) -> None:
        """Count one violation."""
        self.plugin_errors.labels(plugin, phase, reason).inc()

    def breaker_opened(self, plugin: str) -> None:
        self.breaker_trips.labels(plugin).inc()

    def breaker_rejected(self, plugin: str) -> None:
        self.breaker_rejections.labels(plugin).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every series (all workers' in multiprocess mode)."""
        for exporter in list(_EXPORTERS):
            exporter.flush()
        flush()
        path = multiprocess_dir()
        if path:
            merged = CollectorRegistry()
            MultiProcessCollector(merged, path=path)
            return generate_latest(merged) + generate_latest(self.live)
        return (
            generate_latest(self.registry)
            + generate_latest(PROCESS_REGISTRY)
            + generate_latest(self.exported)
        )
