"""opentelemetry ``logs_endpoint``: the request's log lines, exported over OTLP/HTTP and
decoded by a local receiver."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tests.bundled.http_log._helpers import gateway_config
from tests.bundled.http_log._receiver import receiver

PLUGINS = Path(__file__).parent / "plugins"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def info_level():
    """The gateway logs at ``info``: its warnings pass, its debug lines do not."""
    logger = logging.getLogger("moongate")
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(previous)


def _decode(requests):
    records, resources = [], []
    for req in requests:
        if req.path != "/v1/logs":
            continue  # the spans
        assert req.headers["Content-Type"] == "application/x-protobuf"
        message = ExportLogsServiceRequest.FromString(req.body)
        for rl in message.resource_logs:
            resources.append({kv.key: kv.value.string_value for kv in rl.resource.attributes})
            for sl in rl.scope_logs:
                assert sl.scope.name == "kong-internal"
                records.extend(sl.log_records)
    return records, resources


async def _records(rec, count, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        records, resources = _decode(rec.requests)
        if len(records) >= count or asyncio.get_running_loop().time() > deadline:
            return records, resources
        await asyncio.sleep(0.05)


def _attributes(record):
    out = {}
    for kv in record.attributes:
        value = kv.value
        out[kv.key] = value.int_value if value.WhichOneof("value") == "int_value" else value.string_value
    return out


def _config(mock_upstream, conf):
    config = gateway_config(mock_upstream, "opentelemetry", conf)
    config["services"][0]["plugins"].append({"name": "otel-logger"})
    return config


async def test_request_lines_carry_the_trace(gateway, mock_upstream, info_level):
    async with receiver() as rec:
        conf = {
            "traces_endpoint": rec.url + "/v1/traces",
            "logs_endpoint": rec.url + "/v1/logs",
            "queue": {"max_coalescing_delay": 0.1},
            "resource_attributes": {"service.name": "edge"},
        }
        gw = await gateway.start(_config(mock_upstream, conf), plugins_dirs=[PLUGINS])
        resp = await gw.get("/api", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
        assert resp.status == 200
        records, resources = await _records(rec, 1)
        await asyncio.sleep(0.2)  # nothing else arrives
        records, resources = _decode(rec.requests)
    assert [r.path for r in rec.requests if r.path == "/v1/logs"]
    # the worker's own lines ("moongate started") come along; of the request's two
    # lines, the debug one is below the log level
    mine = [r for r in records if "request.id" in _attributes(r)]
    assert len(mine) == 1, records
    record = mine[0]
    assert record.body.string_value == "[otel-logger] upstream is slow: 42 ms"
    assert (record.severity_number, record.severity_text) == (13, "WARN")
    assert record.trace_id.hex() == TRACE and len(record.span_id) == 8 and record.flags == 1
    assert record.time_unix_nano > 1_600_000_000 * 10**9
    attributes = _attributes(record)
    assert attributes["request.id"] == resp.headers["X-Kong-Request-Id"]
    assert attributes["introspection.source"].endswith("otel_logger.py")
    assert attributes["introspection.name"] == "access"
    assert resources[0]["service.name"] == "edge"


async def test_logs_without_traces_and_worker_lines(gateway, mock_upstream, info_level):
    async with receiver() as rec:
        conf = {"logs_endpoint": rec.url + "/v1/logs", "queue": {"max_coalescing_delay": 0.1}}
        gw = await gateway.start(_config(mock_upstream, conf), plugins_dirs=[PLUGINS])
        logging.getLogger("moongate.test").error("outside any request")
        resp = await gw.get("/api")
        assert resp.status == 200
        records, _ = await _records(rec, 2)
    by_body = {r.body.string_value: r for r in records}
    assert {"outside any request", "[otel-logger] upstream is slow: 42 ms"} <= set(by_body)
    worker = by_body["outside any request"]
    assert (worker.severity_number, worker.severity_text) == (17, "ERR")
    assert "request.id" not in _attributes(worker)
    line = by_body["[otel-logger] upstream is slow: 42 ms"]
    assert line.trace_id == b"" and line.span_id == b""  # no trace is active


async def test_no_logs_endpoint_keeps_nothing(gateway, mock_upstream):
    from py_plugins.opentelemetry._logs import capturing

    async with receiver() as rec:
        conf = {"traces_endpoint": rec.url + "/v1/traces", "sampling_rate": 0}
        gw = await gateway.start(_config(mock_upstream, conf), plugins_dirs=[PLUGINS])
        assert not capturing()
        resp = await gw.get("/api")
        assert resp.status == 200
        await asyncio.sleep(0.2)
    assert rec.requests == []
