"""request-transformer through real requests (headers, query string, JSON / form /
multipart bodies, method, URI, templates, order of operations) and its schema."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, unquote

import aiohttp
import pytest

from host.config import load_data
from host.config.errors import ConfigError
from host.gateway import build_registry
from host.settings import Settings
from tests.bundled.docs import example_config
from tests.conftest import service

PREFIX = "kong.yml: plugins[0] (name=request-transformer): "


def cfg(upstream: Any, conf: dict[str, Any]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                **service(upstream),
                "routes": [
                    {"name": "items", "paths": ["~/items/(?<item>\\d+)/(\\w+)$"], "strip_path": False},
                    {"name": "any", "paths": ["/"]},
                ],
            }
        ],
        "plugins": [{"name": "request-transformer", "config": conf}],
    }


async def upstream_view(gw: Any, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """What the echo upstream received: method, path, query, lowercased headers, body."""
    resp = await gw.request(method, path, **kwargs)
    assert resp.status == 200, resp.text
    echo = resp.json()
    echo["headers"] = {k.lower(): v for k, v in echo["headers"].items()}
    return echo


@pytest.fixture
async def transformer(gateway, mock_upstream):
    """``await transformer(conf)``: a gateway running request-transformer with ``conf``."""

    async def start(conf: dict[str, Any]) -> Any:
        return await gateway.start(cfg(mock_upstream, conf), plugins_dirs=[])

    return start


# -- schema --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry():
    return build_registry(Settings(plugins_dirs=[]))


def test_schema_defaults(registry):
    data = {"_format_version": "3.0", "plugins": [{"name": "request-transformer"}]}
    conf = load_data(data, registry, source="kong.yml").plugins[0]["config"]
    empty = {"body": [], "headers": [], "querystring": []}
    assert conf == {
        "http_method": None,
        "remove": empty,
        "rename": empty,
        "replace": {**empty, "uri": None},
        "add": empty,
        "append": empty,
    }


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"add": {"body": ["novalue"]}}, "config.add.body[0]: key 'novalue' has no value"),
        (
            {"add": {"querystring": ["k:$(headers.x"]}},
            "config.add.querystring[0]: value '$(headers.x' is not in supported format, "
            "error:unfinished '$(' in '$(headers.x'",
        ),
        (
            {"append": {"body": ["k:$(os.exit())"]}},
            "config.append.body[0]: value '$(os.exit())' is not in supported format, "
            "error:unknown value 'os' (expected headers, query_params, uri_captures or shared)",
        ),
        ({"add": {"headers": ["x-a"]}}, "config.add.headers[0]: invalid value: x-a"),
        ({"add": {"headers": ["bad header:v"]}}, "config.add.headers[0]: 'bad header' is not a valid header"),
        (
            {"rename": {"headers": ["x-a:bad header"]}},
            "config.rename.headers[0]: 'bad header' is not a valid header",
        ),
        (
            {"remove": {"headers": ["bad header"]}},
            "config.remove.headers[0]: 'bad header' is not a valid header",
        ),
        ({"http_method": "get"}, "config.http_method: invalid value: get"),
    ],
)
def test_schema_errors(registry, conf, message):
    data = {"_format_version": "3.0", "plugins": [{"name": "request-transformer", "config": conf}]}
    with pytest.raises(ConfigError) as info:
        load_data(data, registry, source="kong.yml")
    assert info.value.errors == [PREFIX + message]


# -- headers -------------------------------------------------------------------------------
async def test_headers_in_kongs_order(transformer):
    gw = await transformer(
        {
            "remove": {"headers": ["x-remove", "x-readd"]},
            "rename": {"headers": ["x-old:x-new", "x-missing:x-never"]},
            "replace": {"headers": ["x-rep:replaced", "x-absent:nope"]},
            "add": {"headers": ["x-add:added", "x-rep:not-added", "x-readd:again"]},
            "append": {"headers": ["x-app:one", "x-app:two", "x-new:more"]},
        }
    )
    seen = await upstream_view(
        gw, "GET", "/", headers={"X-Remove": "1", "X-Readd": "old", "X-Old": "o", "X-Rep": "r"}
    )
    h = seen["headers"]
    assert "x-remove" not in h and "x-old" not in h and "x-never" not in h and "x-absent" not in h
    assert h["x-rep"] == "replaced" and h["x-add"] == "added" and h["x-readd"] == "again"
    assert h["x-app"] == "one, two"
    # renamed, then appended to
    assert h["x-new"] == "o, more"


async def test_replace_host(transformer):
    gw = await transformer(
        {"replace": {"headers": ["host:example.test"]}, "add": {"headers": ["host:ignored"]}}
    )
    seen = await upstream_view(gw, "GET", "/")
    assert seen["headers"]["host"] == "example.test"


# -- query string --------------------------------------------------------------------------
async def test_querystring(transformer):
    gw = await transformer(
        {
            "remove": {"querystring": ["r"]},
            "rename": {"querystring": ["old:new"]},
            "replace": {"querystring": ["rep:x", "absent:y"]},
            "add": {"querystring": ["add:1", "rep:no"]},
            "append": {"querystring": ["multi:c", "fresh:z"]},
        }
    )
    seen = await upstream_view(gw, "GET", "/?r=1&old=2&rep=3&multi=a&multi=b")
    assert parse_qs(seen["query"]) == {
        "new": ["2"],
        "rep": ["x"],
        "add": ["1"],
        "multi": ["a", "b", "c"],
        "fresh": ["z"],
    }


# -- bodies --------------------------------------------------------------------------------
BODY_CONF = {
    "remove": {"body": ["r"]},
    "rename": {"body": ["old:new"]},
    "replace": {"body": ["rep:x", "absent:y"]},
    "add": {"body": ["add:1", "rep:no"]},
    "append": {"body": ["list:c"]},
}


async def test_json_body(transformer):
    gw = await transformer(BODY_CONF)
    seen = await upstream_view(gw, "POST", "/", json={"r": 1, "old": 2, "rep": 3, "list": "a", "keep": [1]})
    assert json.loads(seen["body"]) == {"new": 2, "rep": "x", "add": "1", "list": ["a", "c"], "keep": [1]}
    assert seen["headers"]["content-length"] == str(len(seen["body"]))


async def test_json_body_empty_gets_added_fields_only(transformer):
    gw = await transformer(BODY_CONF)
    seen = await upstream_view(gw, "POST", "/", data=b"", headers={"Content-Type": "application/json"})
    assert json.loads(seen["body"]) == {"add": "1", "rep": "no", "list": ["c"]}


async def test_invalid_json_body_is_left_alone(transformer):
    gw = await transformer(BODY_CONF)
    seen = await upstream_view(gw, "POST", "/", data=b"{nope", headers={"Content-Type": "application/json"})
    assert seen["body"] == "{nope"


async def test_form_body(transformer):
    gw = await transformer(BODY_CONF)
    seen = await upstream_view(gw, "POST", "/", data={"r": "1", "old": "2", "rep": "3", "list": "a"})
    assert parse_qs(seen["body"]) == {"new": ["2"], "rep": ["x"], "add": ["1"], "list": ["a", "c"]}


async def test_multipart_body(transformer):
    gw = await transformer(BODY_CONF)
    form = aiohttp.FormData()
    for name, value in (("r", "1"), ("old", "2"), ("rep", "3")):
        form.add_field(name, value)
    form.add_field("file", b"content", filename="f.txt", content_type="text/plain")
    seen = await upstream_view(gw, "POST", "/", data=form)
    body = seen["body"]
    assert 'name="r"' not in body and 'name="old"' not in body
    for name, value in (("new", "2"), ("rep", "x"), ("add", "1")):
        assert f'name="{name}"\r\n\r\n{value}\r\n' in body
    assert 'filename="f.txt"' in body and "content" in body
    assert body.rstrip().endswith("--")


async def test_other_content_types_untouched(transformer):
    gw = await transformer(BODY_CONF)
    seen = await upstream_view(gw, "POST", "/", data=b"r=1", headers={"Content-Type": "text/plain"})
    assert seen["body"] == "r=1"


# -- method and URI --------------------------------------------------------------------------
async def test_http_method(transformer):
    gw = await transformer({"http_method": "POST"})
    assert (await upstream_view(gw, "GET", "/"))["method"] == "POST"


async def test_http_method_get_moves_form_fields_to_the_query(transformer):
    gw = await transformer({"http_method": "GET"})
    seen = await upstream_view(gw, "POST", "/?a=1", data={"a": "2", "b": "3"})
    assert seen["method"] == "GET"
    assert parse_qs(seen["query"]) == {"a": ["1", "2"], "b": ["3"]}


async def test_replace_uri_with_captures(transformer):
    gw = await transformer({"replace": {"uri": "/v2/$(uri_captures.item)/$(uri_captures[2])"}})
    seen = await upstream_view(gw, "GET", "/items/42/details?x=1")
    assert seen["path"] == "/v2/42/details" and seen["query"] == "x=1"


# -- templates -----------------------------------------------------------------------------
async def test_templates(transformer):
    gw = await transformer(
        {
            "add": {
                "headers": [
                    "x-from-header:$(headers.x-user)",
                    'x-bracket:$(headers["X-User"])',
                    "x-underscore:$(headers.x_user)",
                    "x-default:$(headers.x-none or query_params.q or 'none')",
                    'x-literal:$(headers.x-none or "fallback")',
                    "x-mixed:id=$(uri_captures['item']) q=$(query_params[\"q\"])",
                ],
                "querystring": ["item:$(uri_captures.item)"],
                "body": ["who:$(headers.x-user)"],
            }
        }
    )
    seen = await upstream_view(gw, "POST", "/items/7/x?q=search", headers={"X-User": "ann"}, json={})
    h = seen["headers"]
    assert (h["x-from-header"], h["x-bracket"], h["x-underscore"]) == ("ann", "ann", "ann")
    assert h["x-default"] == "search" and h["x-literal"] == "fallback"
    assert h["x-mixed"] == "id=7 q=search"
    assert "item=7" in seen["query"]
    assert json.loads(seen["body"]) == {"who": "ann"}


async def test_unset_template_value_is_empty(transformer):
    gw = await transformer({"add": {"querystring": ["v:[$(headers.x-none)]"]}})
    seen = await upstream_view(gw, "GET", "/")
    assert unquote(seen["query"]) == "v=[]"


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("request-transformer", mock_upstream.url), plugins_dirs=[])
    seen = await upstream_view(
        gw,
        "POST",
        "/users/17/orders",
        headers={"X-Debug": "1"},
        json={"password": "secret", "item": "book"},
    )
    assert seen["path"] == "/v2/orders" and "user=17" in seen["query"]
    assert "x-debug" not in seen["headers"] and seen["headers"]["x-source"] == "moongate"
    assert json.loads(seen["body"]) == {"item": "book", "channel": "api"}
