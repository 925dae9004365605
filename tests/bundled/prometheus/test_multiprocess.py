"""Two gateway processes sharing one PROMETHEUS_MULTIPROC_DIR: /metrics of either shows the sum."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def config(upstream_url: str) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{"name": "mp", "url": upstream_url, "routes": [{"name": "mp", "paths": ["/"]}]}],
        "plugins": [{"name": "prometheus", "config": {"status_code_metrics": True, "latency_metrics": True}}],
    }


async def total(gw: Any) -> tuple[float, float]:
    text = (await gw.metrics()).text
    requests = latency = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("service") != "mp":
                continue
            if sample.name == "kong_http_requests_total":
                requests += sample.value
            elif sample.name == "kong_request_latency_ms_count":
                latency += sample.value
    return requests, latency


async def test_two_processes_sum(tmp_path, gateway, mock_upstream):
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    gateways = [await gateway.spawn(config(mock_upstream.url), env=env) for _ in ("a", "b")]
    for gw, count in zip(gateways, (5, 3), strict=True):
        for _ in range(count):
            resp = await gw.get("/x")
            assert resp.status == 200
    for gw in gateways:
        for _ in range(100):  # each worker flushes its counts within a second
            if await total(gw) == (8, 8):
                break
            await asyncio.sleep(0.1)
        assert await total(gw) == (8, 8)
    assert any(p.name.startswith("counter_") for p in shared.iterdir())
