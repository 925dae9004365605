"""GET /metrics on the status listener: this worker's own Prometheus series."""

from __future__ import annotations

import aiohttp
from prometheus_client import REGISTRY

from host.metrics import GatewayMetrics
from host.plugins.breaker import Breaker
from tests.conftest import service
from tests.host.plugins._faults import FAULT_PLUGINS, errors_counted, metric_samples, raw_get


def _config(upstream):
    route = {"name": "boom", "paths": ["/boom"], "plugins": [{"name": "fault-raise"}]}
    return {"_format_version": "3.0", "services": [{**service(upstream), "routes": [route]}]}


async def test_each_gateway_counts_its_own_failures(make_gateway, echo_upstream, http):
    first = await make_gateway(_config(echo_upstream), plugins_dirs=[FAULT_PLUGINS])
    second = await make_gateway(_config(echo_upstream), plugins_dirs=[FAULT_PLUGINS])
    for _ in range(2):
        assert (await raw_get(first.gateway.proxy_port, "/boom")).status == 500
    assert errors_counted(await metric_samples(http, first.status_url), "fault-raise", "access", "error") == 2
    assert (
        errors_counted(await metric_samples(http, second.status_url), "fault-raise", "access", "error") == 0
    )
    # never in the process-wide registry (workers and test gateways stay apart)
    assert REGISTRY.get_sample_value("kong_plugin_errors_total", {"plugin": "fault-raise"}) is None


async def test_series_are_described_before_any_failure(make_gateway, echo_upstream):
    gw = await make_gateway(_config(echo_upstream), plugins_dirs=[FAULT_PLUGINS])
    async with aiohttp.ClientSession() as session, session.get(gw.status_url + "/metrics") as resp:
        text = await resp.text()
    for line in (
        "# TYPE kong_plugin_errors_total counter",
        "# TYPE kong_plugin_breaker_trips_total counter",
        "# TYPE kong_plugin_breaker_rejections_total counter",
        "# TYPE kong_plugin_breakers_open gauge",
    ):
        assert line in text


def test_open_breakers_are_read_when_scraped() -> None:
    now = [0.0]
    breaker = Breaker(threshold=1, cooldown=5, clock=lambda: now[0])
    metrics = GatewayMetrics(breaker)
    breaker.record("acl", "id-1", "error")
    breaker.record("acl", "id-2", "timeout")
    breaker.record("cors", "id-3", "error")
    assert metrics.registry.get_sample_value("kong_plugin_breakers_open", {"plugin": "acl"}) == 2
    assert metrics.registry.get_sample_value("kong_plugin_breakers_open", {"plugin": "cors"}) == 1
    now[0] = 5.0  # the cool-down is over
    assert metrics.registry.get_sample_value("kong_plugin_breakers_open", {"plugin": "acl"}) is None
    assert b"kong_plugin_breakers_open" in metrics.render()
