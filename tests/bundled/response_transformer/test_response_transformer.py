"""response-transformer through real requests (headers, JSON bodies, streamed chunks,
json_types) and its schema."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from host.config import load_data
from host.config.errors import ConfigError
from host.gateway import build_registry
from host.settings import Settings
from tests.bundled.docs import example_config

PREFIX = "kong.yml: plugins[0] (name=response-transformer): "
DOC = {"id": 1, "secret": "s", "old": "o", "rep": "r", "list": "a", "keep": True}


async def _json(request: web.Request) -> web.StreamResponse:
    """A JSON document, in several chunks when asked (?chunks=n), with set headers."""
    ctype = request.query.get("ctype", "application/json")
    headers = {"Content-Type": ctype, "X-Old": "o", "X-Rep": "r", "X-Gone": "g", "X-Multi": "m1"}
    body = json.dumps(DOC).encode() if ctype != "text/plain" else b"id=1"
    parts = int(request.query.get("chunks", "0"))
    if not parts:
        return web.Response(body=body, headers=headers)
    resp = web.StreamResponse(headers=headers)
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    step = max(1, len(body) // parts)
    for i in range(0, len(body), step):
        await resp.write(body[i : i + step])
        await asyncio.sleep(0.01)
    await resp.write_eof()
    return resp


@pytest.fixture
async def json_upstream() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", _json)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
async def transformer(gateway, json_upstream):
    """``await transformer(conf)``: a gateway running response-transformer with ``conf``."""

    async def start(conf: dict[str, Any]) -> Any:
        config = {
            "_format_version": "3.0",
            "services": [{"name": "s", "url": json_upstream, "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "response-transformer", "config": conf}],
        }
        return await gateway.start(config, plugins_dirs=[])

    return start


# -- schema --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry():
    return build_registry(Settings(plugins_dirs=[]))


def test_schema_defaults(registry):
    data = {"_format_version": "3.0", "plugins": [{"name": "response-transformer"}]}
    conf = load_data(data, registry, source="kong.yml").plugins[0]["config"]
    typed = {"json": [], "json_types": [], "headers": []}
    assert conf == {
        "remove": {"json": [], "headers": []},
        "rename": {"json": [], "headers": []},
        "replace": typed,
        "add": typed,
        "append": typed,
    }


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"add": {"json": ["novalue"]}}, "config.add.json[0]: invalid value: novalue"),
        ({"add": {"headers": ["x-a"]}}, "config.add.headers[0]: invalid value: x-a"),
        (
            {"add": {"json_types": ["date"]}},
            "config.add.json_types[0]: expected one of: boolean, number, string",
        ),
        ({"rename": {"headers": ["x-a:b c"]}}, "config.rename.headers[0]: 'b c' is not a valid header"),
        ({"remove": {"querystring": ["a"]}}, "config.remove.querystring: unknown field"),
    ],
)
def test_schema_errors(registry, conf, message):
    data = {"_format_version": "3.0", "plugins": [{"name": "response-transformer", "config": conf}]}
    with pytest.raises(ConfigError) as info:
        load_data(data, registry, source="kong.yml")
    assert info.value.errors == [PREFIX + message]


# -- headers -------------------------------------------------------------------------------
async def test_headers_in_kongs_order(transformer):
    gw = await transformer(
        {
            "remove": {"headers": ["x-gone"]},
            "rename": {"headers": ["x-old:X-New"]},
            "replace": {"headers": ["x-rep:replaced", "x-absent:no"]},
            "add": {"headers": ["x-add:added", "x-rep:not-added"]},
            "append": {"headers": ["x-multi:m2", "x-fresh:f"]},
        }
    )
    resp = await gw.get("/")
    h = resp.headers
    assert "X-Gone" not in h and "X-Old" not in h and "X-Absent" not in h
    assert h["X-New"] == "o" and h["X-Rep"] == "replaced" and h["X-Add"] == "added"
    assert h.getall("X-Multi") == ["m1", "m2"] and h["X-Fresh"] == "f"
    assert json.loads(resp.body) == DOC  # the body is left alone


# -- JSON body -----------------------------------------------------------------------------
JSON_CONF = {
    "remove": {"json": ["secret"]},
    "rename": {"json": ["old:new"]},
    "replace": {"json": ["rep:7", "absent:x"], "json_types": ["number"]},
    "add": {
        "json": ["flag:true", "id:2", "path:/a/b", 'quote:say "hi"'],
        "json_types": ["boolean", "number", "string", "string"],
    },
    "append": {"json": ["list:b", "fresh:1"], "json_types": ["string", "number"]},
}
JSON_RESULT = {
    "id": 1,
    "new": "o",
    "rep": 7,
    "list": ["a", "b"],
    "keep": True,
    "flag": True,
    "path": "/a/b",
    "quote": 'say "hi"',
    "fresh": [1],
}


@pytest.mark.parametrize("chunks", [0, 5])
async def test_json_body(transformer, chunks):
    gw = await transformer(JSON_CONF)
    resp = await gw.get(f"/?chunks={chunks}")
    body = resp.body
    assert json.loads(body) == JSON_RESULT
    assert resp.headers.get("Content-Length") in (None, str(len(body)))


async def test_json_suffix_content_type(transformer):
    gw = await transformer({"remove": {"json": ["secret"]}})
    resp = await gw.get("/?ctype=application/vnd.api%2Bjson")
    assert "secret" not in json.loads(resp.body)


async def test_non_json_body_untouched(transformer):
    gw = await transformer(JSON_CONF)
    resp = await gw.get("/?ctype=text/plain")
    assert resp.body == b"id=1"
    assert resp.headers["Content-Length"] == "4"


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("response-transformer", mock_upstream.url), plugins_dirs=[])
    resp = await gw.get("/demo")
    assert "X-Upstream" not in resp.headers and resp.headers["X-Served-By"] == "moongate"
    body = json.loads(resp.body)
    assert "headers" not in body and body["verb"] == "GET" and body["version"] == 2
