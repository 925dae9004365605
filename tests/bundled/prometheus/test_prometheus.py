"""prometheus through real requests; /metrics is read with prometheus-client's text parser.

The plugin's series are per process (as Kong's are per node), so each test uses
service and route names of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from host.config import load_data
from host.gateway import build_registry
from host.settings import Settings
from py_plugins.prometheus._exporter import KONG_LATENCY_BUCKETS, UPSTREAM_LATENCY_BUCKETS
from tests.bundled.docs import example_config

ALL = {
    "per_consumer": True,
    "status_code_metrics": True,
    "latency_metrics": True,
    "bandwidth_metrics": True,
    "upstream_health_metrics": True,
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def prom_config(
    upstream_url: str, svc: str, conf: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": svc,
                "url": upstream_url,
                "routes": [
                    {"name": f"{svc}-r", "paths": ["/x", "/ok", "/status"], "strip_path": False},
                    {"name": f"{svc}-t", "paths": ["/term"]},
                ],
                "plugins": extra.pop("service_plugins", []),
            }
        ],
        "plugins": [{"name": "prometheus", "config": ALL if conf is None else conf}],
        **extra,
    }


async def scrape(gw: Any) -> dict[str, Any]:
    resp = await gw.metrics()
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    text = resp.text
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(families: dict[str, Any], family: str, sample: str | None = None, **labels: str) -> list[Any]:
    found = families.get(family)
    if found is None:
        return []
    return [
        s
        for s in found.samples
        if (sample is None or s.name == sample) and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def value(families: dict[str, Any], family: str, sample: str, **labels: str) -> float:
    matched = samples(families, family, sample, **labels)
    assert len(matched) == 1, (family, labels, matched)
    return matched[0].value


async def test_request_counts_match_requests_sent(gateway, mock_upstream):
    svc = unique("count")
    gw = await gateway.start(prom_config(mock_upstream.url, svc), status=True)
    for _ in range(7):
        resp = await gw.get("/ok")
        assert resp.status == 200
    for _ in range(3):
        resp = await gw.get("/status/404")
        assert resp.status == 404
    resp = await gw.get("/nothing-matches-this")
    assert resp.status == 404  # no route: not counted, as in Kong
    families = await scrape(gw)
    route = f"{svc}-r"
    common = {"service": svc, "route": route, "workspace": "default", "consumer": ""}
    assert (
        value(
            families, "kong_http_requests", "kong_http_requests_total", code="200", source="service", **common
        )
        == 7
    )
    assert (
        value(
            families, "kong_http_requests", "kong_http_requests_total", code="404", source="service", **common
        )
        == 3
    )
    assert families["kong_http_requests"].type == "counter"
    latency = {"service": svc, "route": route, "workspace": "default"}
    for name, buckets in (
        ("kong_kong_latency_ms", KONG_LATENCY_BUCKETS),
        ("kong_upstream_latency_ms", UPSTREAM_LATENCY_BUCKETS),
        ("kong_request_latency_ms", UPSTREAM_LATENCY_BUCKETS),
    ):
        assert families[name].type == "histogram"
        assert value(families, name, name + "_count", **latency) == 10
        bounds = [s.labels["le"] for s in samples(families, name, name + "_bucket", **latency)]
        assert bounds == [f"{float(b)}" for b in buckets] + ["+Inf"]
    ingress = value(
        families, "kong_bandwidth_bytes", "kong_bandwidth_bytes_total", direction="egress", **common
    )
    assert ingress > 10 * 100  # the echo bodies


async def test_kong_generated_responses_have_source_kong(gateway, mock_upstream):
    svc = unique("term")
    config = prom_config(mock_upstream.url, svc)
    config["services"][0]["routes"][1]["plugins"] = [
        {"name": "request-termination", "config": {"status_code": 418}}
    ]
    gw = await gateway.start(config, status=True)
    for _ in range(2):
        resp = await gw.get("/term")
        assert resp.status == 418
    families = await scrape(gw)
    labels = {"service": svc, "route": f"{svc}-t", "code": "418", "workspace": "default", "consumer": ""}
    assert value(families, "kong_http_requests", "kong_http_requests_total", source="kong", **labels) == 2
    # no upstream call: no upstream latency, the whole time is Kong's
    assert not samples(families, "kong_upstream_latency_ms", service=svc, route=f"{svc}-t")
    assert (
        value(families, "kong_kong_latency_ms", "kong_kong_latency_ms_count", service=svc, route=f"{svc}-t")
        == 2
    )


async def test_per_consumer(gateway, mock_upstream):
    svc = unique("cons")
    config = prom_config(mock_upstream.url, svc, service_plugins=[{"name": "auth-header"}])
    config["consumers"] = [{"username": "alice"}]
    gw = await gateway.start(config, status=True)
    resp = await gw.get("/x", headers={"X-Consumer": "alice"})
    assert resp.status == 200
    resp = await gw.get("/x")
    assert resp.status == 200
    families = await scrape(gw)
    base = {"service": svc, "route": f"{svc}-r", "code": "200"}
    assert value(families, "kong_http_requests", "kong_http_requests_total", consumer="alice", **base) == 1
    assert value(families, "kong_http_requests", "kong_http_requests_total", consumer="", **base) == 1
    assert samples(families, "kong_bandwidth_bytes", direction="ingress", consumer="alice", service=svc) == []
    assert samples(families, "kong_bandwidth_bytes", direction="egress", consumer="alice", service=svc)


async def test_toggles_off_export_nothing_per_request(gateway, mock_upstream):
    svc = unique("off")
    gw = await gateway.start(prom_config(mock_upstream.url, svc, conf={}), status=True)
    resp = await gw.get("/x")
    assert resp.status == 200
    families = await scrape(gw)
    for family in (
        "kong_http_requests",
        "kong_kong_latency_ms",
        "kong_bandwidth_bytes",
        "kong_request_latency_ms",
    ):
        assert not samples(families, family, service=svc), family
    assert "kong_upstream_target_health" not in families
    # node series are always there
    assert value(families, "kong_datastore_reachable", "kong_datastore_reachable") == 1
    node = gw.gateway.settings.node_id
    assert samples(families, "kong_node_info", "kong_node_info", node_id=node)
    assert (
        value(
            families, "kong_nginx_requests_total", "kong_nginx_requests_total", node_id=node, subsystem="http"
        )
        >= 1
    )


async def test_consumer_label_empty_without_per_consumer(gateway, mock_upstream):
    svc = unique("noper")
    config = prom_config(
        mock_upstream.url, svc, conf={"status_code_metrics": True}, service_plugins=[{"name": "auth-header"}]
    )
    config["consumers"] = [{"username": "alice"}]
    gw = await gateway.start(config, status=True)
    resp = await gw.get("/x", headers={"X-Consumer": "alice"})
    assert resp.status == 200
    families = await scrape(gw)
    assert value(families, "kong_http_requests", "kong_http_requests_total", service=svc, consumer="") == 1


async def test_upstream_target_health(gateway, mock_upstream):
    svc = unique("up")
    port = mock_upstream.url.rsplit(":", 1)[1]
    config = prom_config(f"http://{svc}-up", svc)
    config["upstreams"] = [{"name": f"{svc}-up", "targets": [{"target": f"127.0.0.1:{port}"}]}]
    gw = await gateway.start(config, status=True)
    resp = await gw.get("/x")
    assert resp.status == 200
    families = await scrape(gw)
    health = samples(families, "kong_upstream_target_health", upstream=f"{svc}-up")
    states = {s.labels["state"]: s.value for s in health}
    assert states == {"healthchecks_off": 1, "healthy": 0, "unhealthy": 0, "dns_error": 0}
    assert health[0].labels["address"] == f"127.0.0.1:{port}" and health[0].labels["subsystem"] == "http"


async def test_plugin_latency_and_errors_extensions(gateway, mock_upstream):
    svc = unique("ext")
    plugins = [{"name": "tagger", "config": {"tag": "t"}}, {"name": "crasher", "config": {"phase": "log"}}]
    gw = await gateway.start(prom_config(mock_upstream.url, svc, service_plugins=plugins), status=True)
    for _ in range(4):
        resp = await gw.get("/x")
        assert resp.status == 200
    families = await scrape(gw)
    assert families["kong_plugin_latency_ms"].type == "histogram"
    assert (
        value(
            families,
            "kong_plugin_latency_ms",
            "kong_plugin_latency_ms_count",
            plugin="tagger",
            phase="access",
        )
        >= 4
    )
    assert (
        value(
            families,
            "kong_plugin_latency_ms",
            "kong_plugin_latency_ms_count",
            plugin="prometheus",
            phase="log",
        )
        >= 4
    )
    assert (
        value(families, "kong_plugin_errors", "kong_plugin_errors_total", plugin="crasher", phase="log") >= 4
    )


async def test_runner_does_no_timing_without_the_plugin(gateway, mock_upstream):
    svc = unique("none")
    config = {
        "_format_version": "3.0",
        "services": [{"name": svc, "url": mock_upstream.url, "routes": [{"name": svc, "paths": ["/"]}]}],
        "plugins": [{"name": "tagger", "config": {"tag": "t"}}],
    }
    gw = await gateway.start(config, status=True)
    runner = gw.gateway.runner
    assert "_start" not in runner.__dict__ and "start_log" not in runner.__dict__
    resp = await gw.get("/x")
    assert resp.status == 200
    with_plugin = await gateway.start(prom_config(mock_upstream.url, unique("on")), status=True)
    assert "_start" in with_plugin.gateway.runner.__dict__


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("prometheus", mock_upstream.url), status=True)
    resp = await gw.get("/demo")
    assert resp.status == 200
    families = await scrape(gw)
    assert (
        value(
            families,
            "kong_http_requests",
            "kong_http_requests_total",
            service="demo",
            route="demo",
            code="200",
        )
        >= 1
    )
    assert samples(families, "kong_request_latency_ms", "kong_request_latency_ms_count", service="demo")


def test_schema_defaults():
    registry = build_registry(Settings())
    data = {"_format_version": "3.0", "plugins": [{"name": "prometheus"}]}
    conf = load_data(data, registry, source="kong.yml").plugins[0]["config"]
    for toggle in (
        "per_consumer",
        "status_code_metrics",
        "ai_metrics",
        "latency_metrics",
        "bandwidth_metrics",
        "upstream_health_metrics",
        "wasm_metrics",
    ):
        assert conf[toggle] is False
    data["plugins"][0]["config"] = {"per_consumer": "yes"}
    with pytest.raises(Exception) as excinfo:
        load_data(data, registry, source="kong.yml")
    assert excinfo.value.errors == [
        "kong.yml: plugins[0] (name=prometheus): config.per_consumer: expected a boolean"
    ]


async def test_latencies_land_in_kongs_buckets(gateway, mock_upstream):
    """Kong's share (120 ms in access), the upstream's (300 ms) and the total each fall
    in the bucket of their own histogram's bounds."""
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.Response(text="late")

    mock_upstream.route("/slow", slow)
    svc = unique("lat")
    config = prom_config(
        mock_upstream.url, svc, {"latency_metrics": True}, service_plugins=[{"name": "slow-access"}]
    )
    config["services"][0]["routes"][0]["paths"].append("/slow")
    gw = await gateway.start(config, status=True, plugins_dirs=[Path(__file__).parent / "plugins"])
    for _ in range(2):
        resp = await gw.get("/slow")
        assert resp.status == 200
    families = await scrape(gw)
    latency = {"service": svc, "route": f"{svc}-r", "workspace": "default"}

    def counts(name: str) -> dict[str, float]:
        return {s.labels["le"]: s.value for s in samples(families, name, name + "_bucket", **latency)}

    kong = counts("kong_kong_latency_ms")  # 120 ms: above 100, within 200
    assert (kong["100.0"], kong["200.0"], kong["+Inf"]) == (0, 2, 2), kong
    upstream = counts("kong_upstream_latency_ms")  # 300 ms: above 250, within 400
    assert (upstream["250.0"], upstream["400.0"]) == (0, 2), upstream
    total = counts("kong_request_latency_ms")  # 420 ms: above 400, within 700
    assert (total["400.0"], total["700.0"]) == (0, 2), total
    assert value(families, "kong_request_latency_ms", "kong_request_latency_ms_sum", **latency) >= 2 * 420
