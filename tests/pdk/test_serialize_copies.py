"""kong.log.serialize(): its copies, and the shared table the bundled log plugins encode.

``kong.log.serialize()`` hands out a table the caller may change freely; the log
plugins read a table that shares the request's route, service, tries and consumer
(``pdk._serialize.serialize(ctx, shared=True)``): edits queued with
``set_serialize_value`` must show in it without ever changing those entities.
"""

from __future__ import annotations

import copy
import time

from multidict import CIMultiDict

from host.context import current_context
from pdk import _serialize
from pdk.phases import Phase

ROUTE = {
    "id": "r1",
    "name": "orders",
    "paths": ["/orders", "/v1/orders"],
    "service": {"id": "s1"},
    "headers": {"x-env": ["prod"]},
    "tags": None,
}
SERVICE = {"id": "s1", "name": "orders-svc", "host": "orders.internal", "tags": ["team-a"]}
CONSUMER = {
    "id": "c1",
    "username": "alice",
    "custom_id": None,
    "tags": ["gold"],
    "keyauth_credentials": [{"key": "s3cret"}],
}


def _request(use, **fields):
    now = time.perf_counter()
    values = dict(
        phase=Phase.log,
        headers=[("Host", "example.com"), ("Connection", "keep-alive"), ("Accept", "a"), ("Accept", "b")],
        request_uri="/orders?x=1&x=2",
        raw_query="x=1&x=2",
        started_at=1700000000.5,
        t0=now - 0.05,
        t_upstream_start=now - 0.04,
        t_upstream_headers=now - 0.01,
        t_end=now,
        status=200,
        service_status=200,
        response_source="service",
        response_headers=CIMultiDict(
            [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
        ),
        route=copy.deepcopy(ROUTE),
        service=copy.deepcopy(SERVICE),
        consumer=copy.deepcopy(CONSUMER),
        credential={"id": "cred-1", "key": "s3cret", "consumer": {"id": "c1"}},
        tries=[{"ip": "10.0.0.5", "port": 80, "balancer_latency": 0}],
        extra={"upstream_uri": "/orders?x=1&x=2"},
    )
    values.update(fields)
    return use(**values)


def _unchanged(ctx) -> None:
    assert ctx.route == ROUTE
    assert ctx.service == SERVICE
    assert ctx.consumer == CONSUMER
    assert ctx.tries == [{"ip": "10.0.0.5", "port": 80, "balancer_latency": 0}]
    assert ctx.query_cache in (None, {"x": ["1", "2"]})


def test_serialize_hands_out_copies_the_caller_may_change(use, kong):
    ctx = _request(use)
    entry = kong.log.serialize()
    first = copy.deepcopy(entry)
    entry["route"]["paths"].append("/evil")
    entry["route"]["service"]["id"] = "other"
    entry["route"]["headers"]["x-env"].append("dev")
    entry["service"]["tags"].clear()
    entry["tries"][0]["port"] = 1
    entry["consumer"]["tags"].append("platinum")
    entry["request"]["querystring"]["x"].append("3")
    _unchanged(ctx)
    assert kong.log.serialize() == first
    assert "keyauth_credentials" not in first["consumer"]


def test_shared_table_equals_serialize_without_nil_fields(use, kong):
    _request(use, consumer=None, credential=None)
    entry = kong.log.serialize()
    shared = _serialize.serialize(current_context(), shared=True)
    assert entry["consumer"] is None and entry["authenticated_entity"] is None
    assert shared == {k: v for k, v in entry.items() if v is not None}
    assert list(shared["response"]["headers"]) == ["content-type", "set-cookie"]
    assert shared["response"]["headers"]["set-cookie"] == ["a=1", "b=2"]


def test_edits_show_in_the_shared_table_but_never_reach_the_entities(use, kong):
    ctx = _request(use, phase=Phase.access)
    kong.log.set_serialize_value("route.name", "renamed", {"mode": "replace"})
    kong.log.set_serialize_value("route.service.id", "s-edited")
    kong.log.set_serialize_value("route.headers.x-env", None)
    kong.log.set_serialize_value("service.tags", ["edited"])
    kong.log.set_serialize_value("consumer.username", "bob")
    kong.log.set_serialize_value("request.querystring.x", "only")
    kong.log.set_serialize_value("tries", [{"ip": "edited"}])
    kong.log.set_serialize_value("custom.nested.value", [1, {"a": True}])
    kong.log.set_serialize_value("custom.nested.other", 2)
    ctx.phase = Phase.log
    shared = _serialize.serialize(ctx, shared=True)
    assert shared["route"]["name"] == "renamed"
    assert shared["route"]["service"] == {"id": "s-edited"}
    assert "x-env" not in shared["route"]["headers"]
    assert shared["route"]["paths"] == ROUTE["paths"]
    assert shared["service"]["tags"] == ["edited"]
    assert shared["consumer"]["username"] == "bob"
    assert shared["request"]["querystring"] == {"x": "only"}
    assert shared["tries"] == [{"ip": "edited"}]
    assert shared["custom"] == {"nested": {"value": [1, {"a": True}], "other": 2}}
    _unchanged(ctx)
    # the same edits, applied to the copies kong.log.serialize() hands out
    assert kong.log.serialize() == shared
    _unchanged(ctx)


def test_request_headers_as_plugins_left_them(use, kong):
    ctx = _request(use, phase=Phase.access)
    kong.service.request.set_header("X-Added", "1")
    kong.service.request.set_header("Authorization", "Bearer secret")
    kong.service.request.clear_header("Accept")
    ctx.phase = Phase.log
    headers = kong.log.serialize()["request"]["headers"]
    # the edited headers, then the client's hop-by-hop ones (never forwarded as they are)
    assert headers == {
        "host": "example.com",
        "x-added": "1",
        "authorization": "REDACTED",
        "connection": "keep-alive",
    }
    assert _serialize.serialize(ctx, shared=True)["request"]["headers"] == headers


def test_header_tables_stop_at_lua_max_req_headers(use, kong):
    ctx = _request(use)
    ctx.settings.lua_max_req_headers = 3
    ctx.response_headers = CIMultiDict([(f"X-{i}", str(i)) for i in range(5)])
    entry = kong.log.serialize()
    assert entry["response"]["headers"] == {"x-0": "0", "x-1": "1", "x-2": "2"}
    assert len(entry["request"]["headers"]) <= 3
