"""The gateway's own Prometheus metrics, per worker, served at ``GET /metrics`` on the status listener.

Each worker keeps its own registry (no shared memory between processes): a scraper
reaches each worker's status listener, or sums what it gets.  The series:

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

Only failures touch these counters: a request whose plugins succeed costs nothing here.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # pragma: no cover
    from host.plugins.breaker import Breaker

__all__ = ["GatewayMetrics", "CONTENT_TYPE"]

#: the Content-Type of ``GET /metrics``: the text format every Prometheus version reads
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _OpenBreakers(Collector):
    """``kong_plugin_breakers_open``: counted from the breaker when scraped."""

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "kong_plugin_breakers_open",
            "Plugin instances whose circuit breaker is open, by plugin name.",
            labels=["plugin"],
        )
        for plugin, count in sorted(Tally(e.plugin for e in self.breaker.active().values()).items()):
            family.add_metric([plugin], count)
        yield family

    def describe(self) -> Iterator[Metric]:
        # no samples at registration: collect() would sweep the breaker too early
        yield GaugeMetricFamily(
            "kong_plugin_breakers_open",
            "Plugin instances whose circuit breaker is open, by plugin name.",
            labels=["plugin"],
        )


class GatewayMetrics:
    """The metrics of one worker, in a registry of their own (never the global one)."""

    def __init__(self, breaker: Breaker | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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
            self.registry.register(_OpenBreakers(breaker))

    def plugin_error(self, plugin: str, phase: str, reason: str) -> None:
        """Count one violation."""
        self.plugin_errors.labels(plugin, phase, reason).inc()

    def breaker_opened(self, plugin: str) -> None:
        self.breaker_trips.labels(plugin).inc()

    def breaker_rejected(self, plugin: str) -> None:
        self.breaker_rejections.labels(plugin).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every series."""
        return generate_latest(self.registry)
