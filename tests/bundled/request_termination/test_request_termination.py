"""request-termination through real requests, and its schema."""

from __future__ import annotations

from typing import Any

import pytest

from host.config import load_data
from host.config.errors import ConfigError
from host.gateway import build_registry
from host.settings import Settings
from tests.bundled.docs import example_config
from tests.conftest import service

PREFIX = "kong.yml: plugins[0] (name=request-termination): "


def cfg(upstream: Any, conf: dict[str, Any]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {**service(upstream), "routes": [{"name": "r", "paths": ["~/items/(?<item>\\d+)$", "/"]}]}
        ],
        "plugins": [{"name": "request-termination", "config": conf}],
    }


@pytest.fixture(scope="module")
def registry():
    return build_registry(Settings(plugins_dirs=[]))


def validate(registry: Any, conf: dict[str, Any]) -> dict[str, Any]:
    data = {"_format_version": "3.0", "plugins": [{"name": "request-termination", "config": conf}]}
    return load_data(data, registry, source="kong.yml").plugins[0]["config"]


def test_schema_defaults(registry):
    assert validate(registry, {}) == {
        "status_code": 503,
        "message": None,
        "content_type": None,
        "body": None,
        "echo": False,
        "trigger": None,
    }


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"message": "x", "body": "y"}, "config: message cannot be used with content_type or body"),
        (
            {"message": "x", "content_type": "text/plain"},
            "config: message cannot be used with content_type or body",
        ),
        ({"content_type": "text/plain"}, "config: content_type requires a body"),
        ({"echo": True, "body": "y"}, "config: echo cannot be used with content_type and body"),
        ({"status_code": 99}, "config.status_code: value should be between 100 and 599"),
        ({"status_code": 600}, "config.status_code: value should be between 100 and 599"),
        (
            {"trigger": "bad header"},
            "config.trigger: bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
        ),
    ],
)
def test_schema_errors(registry, conf, message):
    with pytest.raises(ConfigError) as info:
        validate(registry, conf)
    assert [e.removeprefix(PREFIX) for e in info.value.errors] == [message]


async def test_default_message_per_status(gateway, mock_upstream):
    for status, message in (
        (503, "Service unavailable"),
        (404, "Not found"),
        (401, "Unauthorized"),
        (405, "Method not allowed"),
        (500, "An unexpected error occurred"),
        (502, "Bad Gateway"),
    ):
        gw = await gateway.start(cfg(mock_upstream, {"status_code": status}), plugins_dirs=[])
        resp = await gw.get("/x")
        assert resp.status == status
        assert (resp.json())["message"] == message
        assert "X-Upstream" not in resp.headers  # never proxied


async def test_status_without_default_message_has_no_body(gateway, mock_upstream):
    gw = await gateway.start(cfg(mock_upstream, {"status_code": 418}), plugins_dirs=[])
    resp = await gw.get("/x")
    assert resp.status == 418
    assert resp.body == b""


async def test_message(gateway, mock_upstream):
    gw = await gateway.start(cfg(mock_upstream, {"status_code": 403, "message": "Go away"}), plugins_dirs=[])
    resp = await gw.post("/x", data=b"abc")
    assert resp.status == 403
    assert (resp.json())["message"] == "Go away"


async def test_raw_body_and_content_type(gateway, mock_upstream):
    conf = {"status_code": 200, "body": "<h1>closed</h1>", "content_type": "text/html"}
    gw = await gateway.start(cfg(mock_upstream, conf), plugins_dirs=[])
    resp = await gw.get("/x")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html"
    assert resp.text == "<h1>closed</h1>"


async def test_trigger_by_header_or_query(gateway, mock_upstream):
    gw = await gateway.start(
        cfg(mock_upstream, {"status_code": 418, "message": "t", "trigger": "X-Stop"}), plugins_dirs=[]
    )
    resp = await gw.get("/x")
    assert resp.status == 200 and resp.headers["X-Upstream"] == "echo"
    resp = await gw.get("/x", headers={"x-stop": "1"})
    assert resp.status == 418
    resp = await gw.get("/x?X-Stop")
    assert resp.status == 418
    resp = await gw.get("/x?x-stop=1")  # query names are case-sensitive
    assert resp.status == 200


async def test_echo(gateway, mock_upstream):
    gw = await gateway.start(
        cfg(mock_upstream, {"status_code": 200, "echo": True, "message": "hi"}), plugins_dirs=[]
    )
    resp = await gw.post("/items/42?a=1&a=2&b", json={"k": "v"}, headers={"X-Test": "yes"})
    assert resp.status == 200
    echo = resp.json()
    assert echo["message"] == "hi"
    req = echo["request"]
    assert (req["method"], req["path"], req["scheme"], req["host"]) == (
        "POST",
        "/items/42",
        "http",
        "127.0.0.1",
    )
    assert isinstance(req["port"], int)
    assert req["headers"]["x-test"] == "yes"
    assert req["query"] == {"a": ["1", "2"], "b": True}
    assert req["body"] == {"k": "v"} and req["raw_body"] == '{"k": "v"}'
    assert req["uri_captures"]["named"] == {"item": "42"}
    assert echo["matched_route"]["name"] == "r" and echo["matched_service"]["name"] == "echo"
    assert (
        echo["kong"]["node_id"] and isinstance(echo["kong"]["worker_pid"], int) and echo["kong"]["hostname"]
    )


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("request-termination", mock_upstream.url), plugins_dirs=[])
    resp = await gw.get("/demo")
    assert resp.status == 503
    assert (resp.json())["message"] == "Back soon"
    resp = await gw.get("/debug?x=1", headers={"X-Debug": "1"})
    assert resp.status == 200
    assert (resp.json())["request"]["query"] == {"x": "1"}
    resp = await gw.get("/debug")
    assert resp.headers["X-Upstream"] == "echo"
