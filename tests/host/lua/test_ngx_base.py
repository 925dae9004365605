"""OpenResty's ngx.* request API through real requests (tests/lua_plugins/.../ngx-demo)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from host.context import Context, reset_context, use_context
from host.lua.runtime import LuaHost
from pdk.phases import Phase
from tests.conftest import RunningGateway, service

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"

LuaGateway = Callable[..., Awaitable[RunningGateway]]


@pytest.fixture
async def lua_gateway(make_gateway: Any) -> AsyncIterator[LuaGateway]:
    """``make_gateway`` with the Lua test plugins; the Lua host is closed afterwards
    (what the gateway's shutdown is expected to do: timers end, sessions close)."""
    started: list[RunningGateway] = []

    async def factory(config: dict[str, Any], **settings: Any) -> RunningGateway:
        gw = await make_gateway(config, plugins_dirs=[LUA_PLUGINS], **settings)
        started.append(gw)
        return gw

    yield factory
    for gw in started:
        await gw.gateway.registry.lua.close()


@pytest.fixture
def in_phase() -> Iterator[Callable[[Phase], Context]]:
    """``in_phase(Phase.access)``: a bare request context made current for the test."""
    tokens = []

    def make(phase: Phase) -> Context:
        ctx = Context()
        ctx.phase = phase
        tokens.append(use_context(ctx))
        return ctx

    yield make
    for token in reversed(tokens):
        try:
            reset_context(token)
        except ValueError:  # set inside an async test's own task context: gone with it
            pass


def _config(upstream: Any, plugin: str = "ngx-demo", config: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                **service(upstream),
                "routes": [
                    {"name": "main", "paths": ["/"]},
                    {"name": "users", "paths": ["~/users/(?<id>\\d+)$"], "strip_path": False},
                ],
            }
        ],
        "plugins": [{"name": plugin, "config": config or {}}],
    }


def _lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@pytest.fixture
async def demo(lua_gateway: LuaGateway, echo_upstream: Any) -> RunningGateway:
    return await lua_gateway(_config(echo_upstream))


async def test_ngx_var_reads_the_request_as_kong_fills_it(demo, http):
    headers = {
        "X-Mode": "vars",
        "X-Custom": "c1",
        "Cookie": "a=1; session=s3cr3t",
        "Content-Type": "text/plain",
    }
    url = URL(demo.url + "/a%20b/./c?page=2&x", encoded=True)
    async with http.post(url, headers=headers, data=b"abc") as resp:
        assert resp.status == 200
        v = _lines(await resp.text())
    assert v["request_uri"] == "/a%20b/./c?page=2&x"
    assert v["uri"] == "/a b/c"  # normalized and decoded, like nginx's $uri
    assert (v["args"], v["is_args"], v["query_string"]) == ("page=2&x", "?", "page=2&x")
    assert v["host"] == "127.0.0.1"
    assert v["http_host"] == f"127.0.0.1:{demo.gateway.proxy_port}"
    assert v["remote_addr"] == v["realip_remote_addr"] == "127.0.0.1"
    assert int(v["remote_port"]) > 0
    assert v["server_port"] == str(demo.gateway.proxy_port)
    assert (v["server_name"], v["scheme"], v["https"]) == ("kong", "http", "")
    assert v["request_method"] == "POST"
    assert v["request"] == "POST /a%20b/./c?page=2&x HTTP/1.1"
    assert len(v["request_id"]) == 32
    assert (v["content_type"], v["content_length"]) == ("text/plain", "3")
    assert v["http_x_custom"] == "c1"
    assert v["http_x_multi"] == "nil"
    assert v["cookie_session"] == "s3cr3t"
    assert v["arg_page"] == "2"
    assert v["upstream_uri"] == "/a%20b/c"  # the router's path (no query yet), as in Kong's access
    assert v["upstream_scheme"] == "http"
    assert v["upstream_host"] == ""  # Kong sets it in access only with preserve_host
    assert v["upstream_x_forwarded_for"] == "127.0.0.1"
    assert v["upstream_x_forwarded_proto"] == "http"
    assert v["ssl_protocol"] == "nil"
    assert v["no_such_variable"] == "nil"
    assert v["binary_remote_addr_len"] == "4"
    assert v["UPSTREAM_URI_UPPER"] == v["upstream_uri"]


async def test_ngx_req_reads_the_request_with_changes_made_for_the_upstream(demo, http):
    headers = [
        ("X-Mode", "req"),
        ("X-Custom", "c1"),
        ("X-Multi", "m1"),
        ("X-Multi", "m2"),
        ("X-Remove", "gone"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ]
    async with http.post(
        demo.url + "/p?page=3&flag&tags=a&tags=b", headers=headers, data="a=1&b=two"
    ) as resp:
        assert resp.status == 200
        v = _lines(await resp.text())
    assert v["x_custom_lower"] == v["x_custom_mixed"] == v["x_custom_underscore"] == "c1"
    assert v["raw_has_mixed_case"] == "true" and v["raw_lower_absent"] == "true"
    assert v["multi"] == "m1,m2"
    assert v["set_by_kong"] == "k"
    assert v["set_by_ngx"] == "a,b"
    assert v["http_set_by_ngx"] == "a, b"
    assert v["removed"] == "nil"
    assert v["host"] == f"127.0.0.1:{demo.gateway.proxy_port}"
    assert v["limited_err"] == "truncated"
    assert (v["page"], v["flag"], v["tags"]) == ("3", "true", "a,b")
    assert (v["form_a"], v["form_b"]) == ("1", "two")
    assert (v["method"], v["http_version"]) == ("POST", "1.1")
    assert v["start_time_ok"] == "true"
    assert (v["body"], v["body_file"]) == ("a=1&b=two", "nil")
    assert v["raw_header_starts"] == "POST"
    assert v["internal"] == "false"
    assert v["phase"] == "access"


async def test_ngx_req_changes_reach_the_upstream(demo, http):
    headers = {"X-Mode": "rewrite", "X-Remove": "gone"}
    async with http.get(demo.url + "/original?a=1", headers=headers) as resp:
        assert resp.status == 200
        echo = await resp.json()
        after = resp.headers["X-After-Rewrite"]
        final_uri = resp.headers["X-Upstream-Uri-Final"]
        upstream_status = resp.headers["X-Upstream-Status"]
    assert echo["method"] == "PUT"
    assert echo["path"] == "/anything/rewritten"
    assert echo["query"] == "b=2&flag"
    assert echo["body"] == "new body"
    sent = {k.lower(): v for k, v in echo["headers"].items()}
    assert sent["x-added"] == "1"
    assert "x-remove" not in sent
    # $uri follows ngx.req.set_uri; the upstream request follows $upstream_uri (Kong's proxy_pass)
    assert after == "/internal/path /anything/rewritten true b=2&flag PUT"
    assert final_uri == "/anything/rewritten?b=2&flag"
    assert upstream_status == "200"


async def test_ngx_exit_with_an_error_status_gives_kongs_error_response(demo, http):
    async with http.get(demo.url + "/x", headers={"X-Mode": "exit403", "Accept": "application/json"}) as resp:
        assert resp.status == 403
        body = await resp.json()
        assert body["message"] == "Forbidden"
        assert len(body["request_id"]) == 32
        assert "X-Not-Reached" not in resp.headers  # the handler ended at ngx.exit
        assert resp.headers["X-Seen-Status"] == "403"  # header_filter still ran


async def test_ngx_exit_ok_ends_only_the_handler(demo, http):
    async with http.get(demo.url + "/anything", headers={"X-Mode": "exit_ok"}) as resp:
        assert resp.status == 200
        assert (await resp.json())["path"] == "/anything"  # proxied
        assert resp.headers["X-Note"] == "kept"  # ngx.ctx lives across phases


async def test_ngx_redirect_and_say(demo, http):
    async with http.get(demo.url + "/x", headers={"X-Mode": "redirect"}, allow_redirects=False) as resp:
        assert resp.status == 301
        assert resp.headers["Location"] == f"http://127.0.0.1:{demo.gateway.proxy_port}/new/place?x=1"
    async with http.get(demo.url + "/x", headers={"X-Mode": "say"}) as resp:
        assert resp.status == 201
        assert await resp.text() == "hello world\nab1truenilnull"
        assert resp.headers["X-Said"] == "yes"
        assert resp.headers["Content-Type"] == "text/plain"


async def test_response_headers_status_and_body_filter(demo, http):
    async with http.get(demo.url + "/anything", headers={"X-Mode": "upper"}) as resp:
        body = await resp.text()
        assert resp.status == 200
        assert resp.headers["X-From-Lua"] == "demo"  # ngx.header.x_from_lua: `_` sent as `-`
        assert resp.headers["X-Seen-Status"] == "200"
        assert resp.headers.getall("X-List") == ["a", "b"]
        assert "X-Upstream" not in resp.headers  # cleared with ngx.header[...] = nil
        assert resp.headers["X-Resp-Seen"] == "200/demo"
    assert body.startswith('{"METHOD": "GET"')  # ngx.arg[1] rewritten chunk by chunk
    assert body.endswith("<EOF>")


async def test_errors_use_openresty_wording(demo, http):
    async with http.get(demo.url + "/x", headers={"X-Mode": "errors"}) as resp:
        v = _lines(await resp.text())
    assert v["read_only"].endswith('variable "request_uri" not changeable')
    assert 'variable "my_var" not found for writing' in v["unknown"]
    assert "ngx.location.capture is not available in Moongate" in v["location"]
    assert v["set_method"].endswith("unsupported HTTP method: 99")
    assert "only ngx.HTTP_MOVED_TEMPORARILY" in v["redirect"]
    assert 'unsafe byte "0x20" in uri' in v["set_uri"]
    assert v["jump"].endswith("API disabled in the context of access_by_lua*")
    assert v["arg"].endswith("API disabled in the context of access_by_lua*")
    assert "ngx-demo/handler.lua:" in v["read_only"]  # the error points at the plugin's line


async def test_ngx_ctx_falls_back_to_the_request_state_kong_keeps_there(demo, http):
    async with http.get(demo.url + "/users/42", headers={"X-Mode": "ctx"}) as resp:
        v = _lines(await resp.text())
    assert v == {
        "consumer": "alice",
        "credential_from_pdk": "cred-1",
        "route": "users",
        "service": "echo",
        "capture": "42",
        "groups": "nil",
        "own_key": "nil",
    }


def test_outside_a_request_ngx_var_has_no_request():
    host = LuaHost()
    fn = host.compile_in("t", "return pcall(function() return ngx.var.uri end)")
    assert fn() == (False, b"no request found")
    fn = host.compile_in("t", "return ngx.HTTP_GET, ngx.HTTP_POST, ngx.get_phase(), ngx.worker.exiting()")
    assert fn() == (2, 8, b"init_worker", False)


def test_ngx_status_and_header_on_a_bare_context(in_phase):
    host = LuaHost()
    ctx = in_phase(Phase.header_filter)
    fn = host.compile_in(
        "t",
        """
        ngx.status = 418
        ngx.header["X-A"] = 1
        ngx.header["X-A"] = nil
        ngx.header.x_b = { "1", "2" }
        local ok, err = pcall(function() ngx.say("no") end)
        return ngx.status, ngx.header["X-B"][2], ngx.header.x_a, ngx.headers_sent, err
        """,
    )
    status, second, cleared, sent, err = fn()
    assert (status, second, cleared, sent) == (418, b"2", None, False)
    assert err.endswith(b"API disabled in the context of header_filter_by_lua*")
    assert ctx.status == 418
    assert ctx.response_headers.getall("X-B") == ["1", "2"]
