"""The prometheus plugin's series: Kong's names, labels and buckets (``exporter.lua``).

Per-request series (only while some configuration enables them; values from the
request context, as ``kong.log.serialize()`` computes them):

* ``kong_http_requests_total{service,route,code,source,workspace,consumer}`` (``status_code_metrics``)
* ``kong_kong_latency_ms``, ``kong_upstream_latency_ms``, ``kong_request_latency_ms``
  ``{service,route,workspace}`` (``latency_metrics``)
* ``kong_bandwidth_bytes{service,route,direction,workspace,consumer}`` (``bandwidth_metrics``)

Node series, computed when scraped: ``kong_node_info{node_id,version}``,
``kong_nginx_connections_total{node_id,subsystem,state}``,
``kong_nginx_requests_total{node_id,subsystem}``, ``kong_nginx_timers{state}``,
``kong_datastore_reachable`` (1: DB-less), and, with ``upstream_health_metrics``,
``kong_upstream_target_health{upstream,target,address,state,subsystem}``.

The per-request values go through :class:`host.metrics.LocalCounter` /
:class:`~host.metrics.LocalHistogram` (flushed within a second, and before every
scrape), so the log phase costs a few dict operations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from host import metrics as gateway_metrics
from host.context import IDLE_CONTEXT
from host.version import KONG_COMPAT_VERSION
from pdk._settings import default_settings

__all__ = ["Exporter", "EXPORTER", "KONG_LATENCY_BUCKETS", "UPSTREAM_LATENCY_BUCKETS"]

KONG_LATENCY_BUCKETS = (1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000)
UPSTREAM_LATENCY_BUCKETS = (25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000)
_HEALTH_STATES = ("healthchecks_off", "healthy", "unhealthy", "dns_error")
_CONNECTION_STATES = (
    ("accepted", "connections_accepted"),
    ("handled", "connections_handled"),
    ("total", "total_requests"),
    ("active", "connections_active"),
    ("reading", "connections_reading"),
    ("writing", "connections_writing"),
    ("waiting", "connections_waiting"),
)


def _histogram(
    name: str, documentation: str, labels: tuple[str, ...], buckets: tuple[float, ...], registry: Any
) -> gateway_metrics.LocalHistogram:
    """A labelled histogram observed locally and pushed into prometheus-client on sync."""
    metric = Histogram(name, documentation, labels, buckets=buckets, registry=registry)
    return gateway_metrics.LocalHistogram(metric, buckets)


class _Series:
    """The per-request metrics, made on first use (after multiprocess mode is known)."""

    def __init__(self) -> None:
        gateway_metrics.use_multiprocess_values()
        registry = gateway_metrics.PROCESS_REGISTRY
        self.status = gateway_metrics.LocalCounter(
            Counter(
                "kong_http_requests",
                "HTTP status codes per consumer/service/route in Kong",
                ("service", "route", "code", "source", "workspace", "consumer"),
                registry=registry,
            )
        )
        self.kong_latency = _histogram(
            "kong_kong_latency_ms",
            "Latency added by Kong and enabled plugins for each service/route in Kong",
            ("service", "route", "workspace"),
            KONG_LATENCY_BUCKETS,
            registry,
        )
        self.upstream_latency = _histogram(
            "kong_upstream_latency_ms",
            "Latency added by upstream response for each service/route in Kong",
            ("service", "route", "workspace"),
            UPSTREAM_LATENCY_BUCKETS,
            registry,
        )
        self.request_latency = _histogram(
            "kong_request_latency_ms",
            "Total latency incurred during requests for each service/route in Kong",
            ("service", "route", "workspace"),
            UPSTREAM_LATENCY_BUCKETS,
            registry,
        )
        self.bandwidth = gateway_metrics.LocalCounter(
            Counter(
                "kong_bandwidth",
                "Total bandwidth (ingress/egress) throughput in bytes",
                ("service", "route", "direction", "workspace", "consumer"),
                unit="bytes",
                registry=registry,
            )
        )


class Exporter:
    """One per process: the series above, and what the plugin's ``configure`` switched on."""

    def __init__(self) -> None:
        self.series: _Series | None = None
        self.enabled = False
        self.upstream_health = False

    def configure(self, configs: list[dict[str, Any]] | None) -> None:
        """Kong's ``exporter.configure``: enabled when configured; health when any config asks."""
        self.enabled = configs is not None
        self.upstream_health = any(c.get("upstream_health_metrics") for c in configs or ())
        if self.enabled and self.series is None:
            self.series = _Series()

    def get_series(self) -> _Series:
        series = self.series
        if series is None:
            series = self.series = _Series()
        return series

    # -- host.metrics exporter protocol ---------------------------------------------------------
    def flush(self) -> None:
        """Nothing of its own: the local accumulators are flushed by host.metrics."""

    def collect(self) -> Iterator[Metric]:
        from pdk.nginx import STATS

        node_id = default_settings().node_id
        info = GaugeMetricFamily(
            "kong_node_info", "Kong Node metadata information", labels=["node_id", "version"]
        )
        info.add_metric([node_id, KONG_COMPAT_VERSION], 1)
        yield info
        connections = GaugeMetricFamily(
            "kong_nginx_connections_total",
            "Number of connections by subsystem",
            labels=["node_id", "subsystem", "state"],
        )
        for state, stat in _CONNECTION_STATES:
            connections.add_metric([node_id, "http", state], STATS.get(stat, 0))
        yield connections
        requests = GaugeMetricFamily(
            "kong_nginx_requests_total", "Number of requests total", labels=["node_id", "subsystem"]
        )
        requests.add_metric([node_id, "http"], STATS.get("total_requests", 0))
        yield requests
        timers = GaugeMetricFamily("kong_nginx_timers", "Number of nginx timers", labels=["state"])
        timers.add_metric(["running"], _running_tasks())
        timers.add_metric(["pending"], 0)
        yield timers
        yield GaugeMetricFamily(
            "kong_datastore_reachable", "Datastore reachable from Kong, 0 is unreachable", value=1
        )
        if self.upstream_health:
            yield self._health()

    def _health(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "kong_upstream_target_health",
            "Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, "
            "value is 1 when state is populated.",
            labels=["upstream", "target", "address", "state", "subsystem"],
        )
        snapshot = IDLE_CONTEXT.snapshot
        balancers = getattr(snapshot, "balancers", None) or {}
        for name, balancer in sorted(balancers.items()):
            for address in balancer.all_addresses:
                if not balancer.checks.enabled:
                    status = "healthchecks_off"
                else:
                    status = "healthy" if address.state.healthy else "unhealthy"
                label = f"{address.host}:{address.port}"
                for state in _HEALTH_STATES:
                    family.add_metric(
                        [name, address.target.get("target", label), label, state, "http"],
                        int(state == status),
                    )
        return family


def _running_tasks() -> int:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        return 0


EXPORTER = Exporter()
gateway_metrics.add_exporter(EXPORTER)
