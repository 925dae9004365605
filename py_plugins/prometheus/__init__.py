"""prometheus: Kong's request metrics, served at ``GET /metrics`` on the status listener.

Kong's prometheus plugin (``kong/plugins/prometheus``), over prometheus-client: the
same metric names, labels, buckets and config toggles (:mod:`._exporter`).  The
``log`` handler reads the request context directly (the values ``kong.log.serialize()``
would give) and counts in local accumulators, so the plugin costs a few microseconds
per request.  ``configure`` also switches the gateway's ``kong_plugin_latency_ms``
(time per plugin and phase, measured by the phase runner only while this plugin is
enabled somewhere).  With ``PROMETHEUS_MULTIPROC_DIR`` set, ``/metrics`` of any worker
answers the sum of all workers (see :mod:`host.metrics`).
"""

from __future__ import annotations

from typing import Any

from host.context import current_context
from host.metrics import FlushState, arm, set_plugin_timing
from host.schema import typedefs
from host.version import KONG_COMPAT_VERSION
from py_plugins.prometheus._exporter import EXPORTER

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin"]

NAME = "prometheus"
PRIORITY = 13
VERSION = KONG_COMPAT_VERSION


def _toggle(name: str, description: str) -> dict[str, Any]:
    return {name: {"type": "boolean", "default": False, "description": description}}


SCHEMA: dict[str, Any] = {
    "fields": [
        {"protocols": typedefs.protocols},
        {
            "config": {
                "type": "record",
                "fields": [
                    _toggle(
                        "per_consumer",
                        "Fill in the consumer label of `kong_http_requests_total` and "
                        "`kong_bandwidth_bytes` when a consumer is authenticated.",
                    ),
                    _toggle("status_code_metrics", "Export `kong_http_requests_total`."),
                    _toggle(
                        "ai_metrics", "Accepted for compatibility; Moongate has no AI proxy metrics yet."
                    ),
                    _toggle(
                        "latency_metrics",
                        "Export `kong_kong_latency_ms`, `kong_upstream_latency_ms` and `kong_request_latency_ms`.",
                    ),
                    _toggle("bandwidth_metrics", "Export `kong_bandwidth_bytes`."),
                    _toggle("upstream_health_metrics", "Export `kong_upstream_target_health`."),
                    _toggle("wasm_metrics", "Accepted for compatibility; Moongate runs no Wasm filters."),
                ],
            }
        },
    ]
}

_EMPTY: dict[str, Any] = {}


class _RouteSeries:
    """One (route, service) pair's label tuples and latency rows, kept across requests."""

    __slots__ = ("route", "service", "service_name", "route_name", "request", "kong", "upstream", "codes")

    def __init__(self, series: Any, route: dict[str, Any], service: dict[str, Any] | None) -> None:
        self.route = route
        self.service = service
        svc = service or _EMPTY
        self.service_name = svc.get("name") or svc.get("host") or ""
        self.route_name = route.get("name") or route.get("id") or ""
        labels = (self.service_name, self.route_name, "default")
        self.request = series.request_latency.row(labels)
        self.kong = series.kong_latency.row(labels)
        self.upstream = series.upstream_latency.row(labels)
        #: (status, source) -> the kong_http_requests_total cell without a consumer
        self.codes: dict[tuple[int, str], list[float]] = {}

    def code_cell(self, series: Any, status: int, source: str) -> list[float]:
        labels = (self.service_name, self.route_name, str(status), source, "default", "")
        cell = self.codes[(status, source)] = series.status.cell(labels)
        return cell


#: id(route) -> its series (checked by identity: a reload makes new routes)
_ROUTES: dict[int, _RouteSeries] = {}
_MAX_ROUTES = 4096


def _route_series(series: Any, route: dict[str, Any], service: dict[str, Any] | None) -> _RouteSeries:
    found = _ROUTES.get(id(route))
    if found is None or found.route is not route or found.service is not service:
        if len(_ROUTES) >= _MAX_ROUTES:
            _ROUTES.clear()
        found = _ROUTES[id(route)] = _RouteSeries(series, route, service)
    return found


class Plugin:
    """``configure`` switches the exporter; ``log`` counts one request."""

    def configure(self, kong: Any, configs: list[dict[str, Any]] | None) -> None:
        EXPORTER.configure(configs)
        set_plugin_timing(configs is not None)
        _ROUTES.clear()  # series may have been made anew

    def log(self, kong: Any, conf: dict[str, Any]) -> None:
        ctx = current_context()
        route = ctx.route
        if route is None:  # Kong records nothing for a request that matched no route
            return
        series = EXPORTER.series or EXPORTER.get_series()
        rs = _ROUTES.get(id(route))
        if rs is None or rs.route is not route or rs.service is not ctx.service:
            rs = _route_series(series, route, ctx.service)
        consumer = ""
        if conf["per_consumer"] and ctx.consumer is not None:
            consumer = ctx.consumer.get("username") or ""
        if conf["status_code_metrics"]:
            source = "service" if ctx.response_source == "service" else "kong"
            if consumer:
                labels = (rs.service_name, rs.route_name, str(ctx.status), source, "default", consumer)
                series.status.cell(labels)[0] += 1
            else:
                cell = rs.codes.get((ctx.status, source)) or rs.code_cell(series, ctx.status, source)
                cell[0] += 1
        if conf["latency_metrics"]:
            t0 = ctx.t0
            request_ms = round((ctx.t_end - t0) * 1000)
            series.request_latency.add(rs.request, request_ms)
            start = ctx.t_upstream_start
            if start:
                if ctx.t_upstream_headers:
                    series.upstream_latency.add(rs.upstream, round((ctx.t_upstream_headers - start) * 1000))
                series.kong_latency.add(rs.kong, round((start - t0) * 1000))
            else:
                series.kong_latency.add(rs.kong, request_ms)
        if conf["bandwidth_metrics"]:
            if ctx.request_size > 0:
                series.bandwidth.inc(
                    (rs.service_name, rs.route_name, "ingress", "default", consumer), ctx.request_size
                )
            if ctx.response_size > 0:
                series.bandwidth.inc(
                    (rs.service_name, rs.route_name, "egress", "default", consumer), ctx.response_size
                )
        if not FlushState.armed:
            arm()
