"""opentelemetry: propagation formats, sampling, and OTLP/HTTP export decoded by a receiver."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.bundled.docs import example_config
from tests.bundled.http_log._helpers import errors_of, gateway_config, load_conf, spec_of
from tests.bundled.http_log._receiver import receiver

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def _conf(rec, **extra):
    return {"traces_endpoint": rec.url + "/v1/traces", "sampling_rate": 1, **extra}


def _decode(requests):
    spans, resources = [], []
    for req in requests:
        if req.path == "/v1/logs":
            continue  # log records (tests/bundled/opentelemetry/test_logs.py)
        assert req.headers["Content-Type"] == "application/x-protobuf"
        message = ExportTraceServiceRequest.FromString(req.body)
        for rs in message.resource_spans:
            resources.append({kv.key: kv.value.string_value for kv in rs.resource.attributes})
            for ss in rs.scope_spans:
                spans.extend(ss.spans)
    return spans, resources


async def _spans(rec, count, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        spans, resources = _decode(rec.requests)
        if len(spans) >= count or asyncio.get_running_loop().time() > deadline:
            return spans, resources
        await asyncio.sleep(0.05)


async def _get(gw, path, headers=None):
    resp = await gw.get(path, headers=headers or {})
    body = resp.json()
    return resp, {k.lower(): v for k, v in body["headers"].items()}


def test_schema():
    conf = load_conf("opentelemetry", {"endpoint": "http://otel:4318/v1/traces"})
    assert conf["traces_endpoint"] == "http://otel:4318/v1/traces"  # Kong's deprecated shorthand
    assert conf["queue"]["max_batch_size"] == 200
    assert (conf["connect_timeout"], conf["send_timeout"], conf["read_timeout"]) == (1000, 5000, 5000)
    assert conf["header_type"] == "preserve" and conf["sampling_rate"] is None
    assert conf["propagation"]["default_format"] == "w3c"
    assert spec_of("opentelemetry").priority == 14
    errors = errors_of("opentelemetry", {})
    assert any("at least one of these fields must be non-empty" in e for e in errors), errors
    assert any(
        "config.sampling_rate: value should be between 0 and 1" in e
        for e in errors_of("opentelemetry", {"traces_endpoint": "http://x/", "sampling_rate": 2})
    )
    assert any(
        e.startswith("config.header_type: expected one of: preserve, ignore")
        for e in errors_of("opentelemetry", {"traces_endpoint": "http://x/", "header_type": "zipkin"})
    )


async def test_w3c_parent_spans_and_upstream_context(gateway, mock_upstream):
    async with receiver() as rec:
        conf = _conf(rec, queue={"max_coalescing_delay": 0.1})
        gw = await gateway.start(
            gateway_config(mock_upstream, "opentelemetry", conf),
            settings={"tracing_instrumentations": ["all"]},
        )
        _, upstream = await _get(gw, "/api", {"traceparent": f"00-{TRACE}-{PARENT}-01"})
        spans, resources = await _spans(rec, 4)
    version, trace, parent, flags = upstream["traceparent"].split("-")
    assert (version, trace, flags) == ("00", TRACE, "01")
    by_name = {s.name: s for s in spans}
    root, balancer = by_name["kong"], by_name["kong.balancer"]
    assert root.trace_id.hex() == TRACE and root.parent_span_id.hex() == PARENT
    assert root.kind == root.SPAN_KIND_SERVER
    assert balancer.parent_span_id == root.span_id and balancer.kind == balancer.SPAN_KIND_CLIENT
    assert balancer.span_id.hex() == parent  # the upstream's parent is the balancer span
    router = by_name["kong.router"]
    assert router.parent_span_id == root.span_id
    assert root.start_time_unix_nano <= router.start_time_unix_nano <= router.end_time_unix_nano
    plugin = by_name["kong.access.plugin.opentelemetry"]
    assert plugin.parent_span_id == root.span_id and plugin.trace_id == root.trace_id
    assert root.start_time_unix_nano <= balancer.start_time_unix_nano <= balancer.end_time_unix_nano
    assert balancer.end_time_unix_nano <= root.end_time_unix_nano
    attributes = {kv.key: kv.value for kv in root.attributes}
    assert attributes["http.method"].string_value == "GET"
    assert attributes["http.status_code"].int_value == 200
    assert resources[0]["service.name"] == "kong"


@pytest.mark.parametrize(
    ("incoming", "header_type", "expected"),
    [
        ({"x-b3-traceid": TRACE, "x-b3-spanid": PARENT, "x-b3-sampled": "1"}, "preserve", "x-b3-traceid"),
        ({"b3": f"{TRACE}-{PARENT}-1"}, "preserve", "b3"),
        ({"uber-trace-id": f"{TRACE}:{PARENT}:0:1"}, "preserve", "uber-trace-id"),
        (
            {"ot-tracer-traceid": TRACE, "ot-tracer-spanid": PARENT, "ot-tracer-sampled": "1"},
            "preserve",
            "ot-tracer-traceid",
        ),
        ({"x-b3-traceid": TRACE, "x-b3-spanid": PARENT}, "w3c", "traceparent"),
        ({"traceparent": f"00-{TRACE}-{PARENT}-01"}, "jaeger", "uber-trace-id"),
        ({"traceparent": f"00-{TRACE}-{PARENT}-01"}, "b3-single", "b3"),
    ],
)
async def test_formats_read_and_written(gateway, mock_upstream, incoming, header_type, expected):
    async with receiver() as rec:
        conf = _conf(rec, header_type=header_type, queue={"max_coalescing_delay": 0.1})
        gw = await gateway.start(gateway_config(mock_upstream, "opentelemetry", conf))
        _, upstream = await _get(gw, "/api", incoming)
        spans, _ = await _spans(rec, 1)
    assert TRACE in upstream[expected]
    assert spans[0].trace_id.hex() == TRACE and spans[0].parent_span_id.hex() == PARENT
    assert PARENT not in upstream[expected]  # the upstream's parent is the gateway's span


async def test_new_trace_when_no_context_and_trace_id_response_header(gateway, mock_upstream):
    async with receiver() as rec:
        conf = _conf(rec, http_response_header_for_traceid="X-Trace-Id", queue={"max_coalescing_delay": 0.1})
        gw = await gateway.start(gateway_config(mock_upstream, "opentelemetry", conf))
        resp, upstream = await _get(gw, "/api")
        spans, _ = await _spans(rec, 1)
    trace_id = resp.headers["X-Trace-Id"]
    assert len(trace_id) == 32 and upstream["traceparent"].split("-")[1] == trace_id
    assert spans[0].trace_id.hex() == trace_id and spans[0].parent_span_id == b""
    assert upstream["traceparent"].split("-")[2] == spans[0].span_id.hex()  # no balancer span: the root


async def test_sampling(gateway, mock_upstream):
    async with receiver() as rec:
        conf = _conf(rec, sampling_rate=0, queue={"max_coalescing_delay": 0.1})
        gw = await gateway.start(gateway_config(mock_upstream, "opentelemetry", conf))
        _, upstream = await _get(gw, "/api")
        assert upstream["traceparent"].endswith("-00")
        _, upstream = await _get(gw, "/api", {"traceparent": f"00-{TRACE}-{PARENT}-01"})
        assert upstream["traceparent"].endswith("-01")  # the parent's decision wins
        spans, _ = await _spans(rec, 1)
        await asyncio.sleep(0.3)
        spans, _ = _decode(rec.requests)
    assert [s.trace_id.hex() for s in spans] == [TRACE]


async def test_batches_resource_attributes_and_headers(gateway, mock_upstream):
    async with receiver() as rec:
        conf = _conf(
            rec,
            queue={"max_batch_size": 3, "max_coalescing_delay": 2},
            resource_attributes={"service.name": "edge", "deployment.environment": "test"},
            headers={"X-Otel-Token": "t0k"},
        )
        gw = await gateway.start(gateway_config(mock_upstream, "opentelemetry", conf))
        for _ in range(3):
            await _get(gw, "/api")
        await rec.wait_for(1)
        await asyncio.sleep(0.2)
        spans, resources = _decode(rec.requests)
    assert len(rec.requests) == 1 and len(spans) == 3
    assert resources[0]["service.name"] == "edge" and resources[0]["deployment.environment"] == "test"
    assert rec.requests[0].headers["X-Otel-Token"] == "t0k"


async def test_dead_collector_never_delays_clients(gateway, mock_upstream):
    from tests.conftest import free_port

    conf = {"traces_endpoint": f"http://127.0.0.1:{free_port()}/v1/traces", "sampling_rate": 1}
    gw = await gateway.start(gateway_config(mock_upstream, "opentelemetry", conf))
    loop = asyncio.get_running_loop()
    for _ in range(10):
        started = loop.time()
        resp, _ = await _get(gw, "/api")
        assert resp.status == 200 and loop.time() - started < 1.0


async def test_doc_example(gateway, mock_upstream):
    async with receiver() as rec:
        config = example_config("opentelemetry", mock_upstream.url)
        config["plugins"][0]["config"]["traces_endpoint"] = rec.url + "/v1/traces"
        config["plugins"][0]["config"]["logs_endpoint"] = rec.url + "/v1/logs"
        gw = await gateway.start(config)
        resp, upstream = await _get(gw, "/demo", {"traceparent": f"00-{TRACE}-{PARENT}-01"})
        spans, _ = await _spans(rec, 1)
    assert resp.headers["X-Trace-Id"] == TRACE
    assert upstream["traceparent"].split("-")[1] == TRACE
    assert spans[0].name == "kong"


def test_handlers_are_wrapped_only_when_an_instrumentation_asks():
    from host.gateway import build_registry
    from host.settings import Settings

    plain = build_registry(Settings(plugins_dirs=[]))
    assert not hasattr(plain.get("opentelemetry").handlers["access"], "__wrapped__")
    traced = build_registry(Settings(plugins_dirs=[], tracing_instrumentations=["plugin_access"]))
    assert hasattr(traced.get("opentelemetry").handlers["access"], "__wrapped__")
    assert not hasattr(traced.get("opentelemetry").handlers["header_filter"], "__wrapped__")
