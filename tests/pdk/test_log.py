"""kong.log: namespaced log lines, serialize and set_serialize_value."""

from __future__ import annotations

import logging
import time

import orjson
import pytest
from multidict import CIMultiDict

from pdk import log
from pdk.errors import PDKArgumentError
from pdk.phases import Phase

from .conftest import CONSUMER

LOGGER = "moongate.plugin"


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    return caplog


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("debug", logging.DEBUG),
        ("info", logging.INFO),
        ("notice", 25),
        ("warn", logging.WARNING),
        ("err", logging.ERROR),
        ("crit", logging.CRITICAL),
        ("alert", 55),
        ("emerg", 60),
    ],
)
def test_levels_and_namespace(use, kong, logs, name, level):
    use(plugin_name="key-auth", phase=Phase.access)
    getattr(kong.log, name)("failed: ", 42, " ", None, " ", True)
    (record,) = logs.records
    assert record.levelno == level
    assert record.getMessage() == "[key-auth] failed: 42 nil true"
    assert (record.plugin, record.request_id, record.phase) == (
        "key-auth",
        "0123456789abcdef0123456789abcdef",
        "access",
    )
    assert record.name == LOGGER
    assert record.pathname == __file__  # the plugin's line, not the PDK's


def test_kong_log_is_callable_at_notice(use, kong, logs):
    use(plugin_name="cors")
    kong.log("hello ", "world")
    assert [(r.levelname, r.getMessage(), r.pathname) for r in logs.records] == [
        ("NOTICE", "[cors] hello world", __file__)
    ]


def test_core_lines_have_no_namespace(use, kong, logs):
    use(phase=Phase.init_worker)
    kong.log.warn("no plugin")
    assert logs.records[0].getMessage() == "no plugin"
    assert logs.records[0].phase == "init_worker"


def test_no_error_function(kong):
    assert not hasattr(kong.log, "error")


def test_disabled_levels_cost_nothing(use, kong, caplog):
    caplog.set_level(logging.ERROR, logger=LOGGER)
    use()
    kong.log.debug("hidden")
    assert caplog.records == []


def test_inspect_on_off(use, kong, logs):
    use(plugin_name="p")
    kong.log.inspect({"a": 1}, "s")
    assert logs.records[-1].getMessage() == "[p] {'a': 1} 's'"
    kong.log.inspect.off()
    kong.log.inspect("silenced")
    assert len(logs.records) == 1
    kong.log.inspect.on()
    kong.log.inspect("back")
    assert len(logs.records) == 2


def test_deprecation(use, kong, logs):
    use(plugin_name="p")
    kong.log.deprecation("config.x is deprecated", {"after": "1.0.0", "removal": "2.0.0"})
    kong.log.deprecation("old", {"removal": "2.0.0"})
    kong.log.deprecation("plain")
    assert [r.getMessage() for r in logs.records] == [
        "[p] config.x is deprecated (deprecated after 1.0.0, scheduled for removal in 2.0.0)",
        "[p] old (scheduled for removal in 2.0.0)",
        "[p] plain",
    ]
    assert {r.levelno for r in logs.records} == {logging.WARNING}


def test_trace_is_silent_unless_testing(use, kong, logs, monkeypatch):
    use()
    kong.log.trace("x")
    assert logs.records == []
    monkeypatch.setattr(log, "_IS_TESTING", True)
    kong.log.trace("y")
    assert logs.records[0].getMessage() == "y"


def _logged_request(use, **fields):
    headers = [
        ("Host", "example.com"),
        ("Authorization", "Basic c2VjcmV0"),
        ("Proxy-Authorization", "Bearer t"),
        ("Accept", "a"),
        ("accept", "b"),
    ]
    now = time.perf_counter()
    values = dict(
        phase=Phase.log,
        headers=headers,
        method="POST",
        request_uri="/orders?x=1&x=2",
        raw_query="x=1&x=2",
        started_at=1700000000.5,
        t0=now - 0.050,
        t_upstream_start=now - 0.040,
        t_upstream_headers=now - 0.010,
        t_end=now,
        status=201,
        response_headers=CIMultiDict([("Content-Type", "application/json")]),
        response_size=120,
        request_size=300,
        service_status=201,
        response_source="service",
        client_ip="203.0.113.7",
        route={"id": "r1", "name": "orders"},
        service={"id": "s1", "name": "orders-svc"},
        consumer={**CONSUMER, "keyauth_credentials": [{"key": "s3cret-key"}]},
        credential={"id": "cred-1", "key": "s3cret-key", "consumer": {"id": CONSUMER["id"]}},
        tries=[{"ip": "10.0.0.5", "port": 80, "balancer_latency": 0}],
        extra={"upstream_uri": "/v1/orders?x=1&x=2"},
    )
    values.update(fields)
    return use(**values)


def test_serialize_shape(use, kong):
    ctx = _logged_request(use)
    entry = kong.log.serialize()
    assert entry["request"] == {
        "id": "0123456789abcdef0123456789abcdef",
        "uri": "/orders?x=1&x=2",
        "url": "http://example.com:8000/orders?x=1&x=2",
        "querystring": {"x": ["1", "2"]},
        "method": "POST",
        "headers": {
            "host": "example.com",
            "authorization": "REDACTED",
            "proxy-authorization": "REDACTED",
            "accept": ["a", "b"],
        },
        "size": 300,
    }
    assert entry["upstream_uri"] == "/v1/orders?x=1&x=2"
    assert entry["upstream_status"] == "201"
    assert entry["response"] == {"status": 201, "headers": {"content-type": "application/json"}, "size": 120}
    assert entry["latencies"] == {"kong": 10, "proxy": 30, "request": 50, "receive": 10}
    assert entry["tries"] == ctx.tries and entry["tries"] is not ctx.tries
    assert entry["authenticated_entity"] == {"id": "cred-1", "consumer_id": CONSUMER["id"]}
    assert entry["route"] == ctx.route and entry["route"] is not ctx.route
    assert entry["service"] == {"id": "s1", "name": "orders-svc"}
    assert entry["consumer"] == CONSUMER
    assert entry["client_ip"] == "203.0.113.7"
    assert entry["started_at"] == 1700000000500
    assert entry["source"] == "upstream"
    assert entry["workspace_name"] == "default" and entry["workspace"]
    text = orjson.dumps(entry)
    assert b"s3cret" not in text and b"c2VjcmV0" not in text


def test_serialize_tls(use, kong):
    tls = {"version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256", "client_verify": "NONE"}
    _logged_request(use, scheme="https", extra={"tls": tls})
    assert kong.log.serialize()["request"]["tls"] == tls


def test_serialize_not_proxied(use, kong):
    _logged_request(
        use, t_upstream_start=0.0, t_upstream_headers=0.0, response_source="exit", service_status=None
    )
    entry = kong.log.serialize()
    assert entry["latencies"]["proxy"] == -1 and entry["latencies"]["receive"] == 0
    assert entry["latencies"]["kong"] == entry["latencies"]["request"] == 50
    assert entry["source"] == "kong" and entry["upstream_status"] == ""


def test_set_serialize_value_modes(use, kong):
    ctx = _logged_request(use, phase=Phase.access)
    kong.log.set_serialize_value("request.headers.x-id", "abc")
    kong.log.set_serialize_value("custom.nested.value", [1, {"a": True}])
    kong.log.set_serialize_value("client_ip", "0.0.0.0", {"mode": "add"})  # exists: unchanged
    kong.log.set_serialize_value("new_field", 1, {"mode": "add"})
    kong.log.set_serialize_value("route.name", "renamed", {"mode": "replace"})
    kong.log.set_serialize_value("missing.chain", 1, {"mode": "replace"})  # absent: ignored
    kong.log.set_serialize_value("response.size", None)  # nil removes
    kong.log.set_serialize_value("dotted\\.key", "lit")
    ctx.phase = Phase.log
    entry = kong.log.serialize()
    assert entry["request"]["headers"]["x-id"] == "abc"
    assert entry["custom"] == {"nested": {"value": [1, {"a": True}]}}
    assert entry["client_ip"] == "203.0.113.7"
    assert entry["new_field"] == 1
    assert entry["route"]["name"] == "renamed" and ctx.route["name"] == "orders"
    assert "missing" not in entry
    assert "size" not in entry["response"]
    assert entry["dotted.key"] == "lit"
    assert kong.log.serialize() == entry  # applied the same way on every call


def test_set_serialize_value_validation(use, kong):
    use()
    with pytest.raises(PDKArgumentError, match="key must be a string"):
        kong.log.set_serialize_value(1, "x")
    with pytest.raises(PDKArgumentError, match="mode must be 'set', 'add' or 'replace'"):
        kong.log.set_serialize_value("a", 1, {"mode": "upsert"})
    loop: dict = {}
    loop["self"] = loop
    for bad in (object(), loop, {"f": print}, {(1, 2): "tuple key"}):
        with pytest.raises(PDKArgumentError, match="value must be nil, a number, string, boolean"):
            kong.log.set_serialize_value("a", bad)


def test_serialize_value_through_a_scalar(use, kong):
    ctx = _logged_request(use)
    ctx.serialize_values.append(("client_ip.sub", 1, "set"))
    with pytest.raises(PDKArgumentError, match="Subkey 'client_ip' is not a table"):
        kong.log.serialize()
