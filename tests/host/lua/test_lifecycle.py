"""Lua plugins in the lifecycle: every phase, order with Python plugins, kong.ctx.shared,
init_worker/configure, failures contained, and load-time checks with clear messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from host.lua.loader import load_lua_plugin
from host.lua.runtime import LuaHost
from host.plugins.spec import PluginLoadError
from tests.conftest import TEST_PLUGINS, service

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"


def config(upstream, plugins):
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"name": "r", "paths": ["/"]}]}],
        "plugins": plugins,
    }


async def test_every_phase_like_kongs_template(make_gateway, echo_upstream, http, caplog):
    caplog.set_level(logging.DEBUG, logger="moongate.plugin")
    gw = await make_gateway(
        config(echo_upstream, [{"name": "every-phase"}]), plugins_dirs=[LUA_PLUGINS]
    )
    assert "[every-phase] configure called with 1 configs" in caplog.text
    assert "saying hi from the 'init_worker' handler" in caplog.text
    async with http.get(gw.url + "/x") as resp:
        echoed = await resp.json()
        assert resp.status == 200
        assert resp.headers["Bye-World"] == "this is on the response"
        assert resp.headers["X-Phases"] == "rewrite,access,header_filter"
        assert resp.headers["X-Configured"] == "1"
    assert {k.lower(): v for k, v in echoed["headers"].items()}["hello-world"] == "this is on a request"
    await gw.gateway.stop(grace=1.0)  # the log phase runs after the response: wait for it
    for phase in ("rewrite", "access", "header_filter", "body_filter"):
        assert f"saying hi from the '{phase}' handler" in caplog.text
    assert "saying hi from the 'log' handler: 200" in caplog.text


async def test_lua_and_python_plugins_share_one_order_and_kong_ctx_shared(make_gateway, echo_upstream, http):
    plugins = [{"name": "shared-writer"}, {"name": "lua-shared-middle"}, {"name": "lua-peer"}, {"name": "shared-reader"}]
    gw = await make_gateway(config(echo_upstream, plugins), plugins_dirs=[TEST_PLUGINS, LUA_PLUGINS])
    async with http.get(gw.url + "/path") as resp:
        echoed = await resp.json()
        assert resp.headers["X-Lua-Table-N"] == "2"
        assert resp.headers["X-Lua-Sees-Peer"] == "python-peer"
    headers = {k.lower(): v for k, v in echoed["headers"].items()}
    assert headers["x-lua-saw"] == "/path"  # writer (2000) ran before the Lua plugin (1500)
    assert headers["x-python-saw"] == "lua-was-here"  # lua-peer (1200) runs after it
    assert headers["x-python-saw-n"] == "2"
    assert headers["x-from-writer"] == "/path"


async def test_a_failing_lua_handler_gives_500_and_the_gateway_keeps_serving(
    make_gateway, echo_upstream, http, caplog, tmp_path
):
    folder = tmp_path / "kong" / "plugins" / "boom"
    folder.mkdir(parents=True)
    (folder / "schema.lua").write_text('return { name = "boom", fields = { { config = { type = "record", fields = { { x = { type = "string" } } } } } } }')
    (folder / "handler.lua").write_text(
        "local H = { PRIORITY = 5, VERSION = '1.0.0' }\n"
        "function H:access(conf)\n"
        "  if kong.request.get_header('x-boom') then error({ code = 42 }) end\n"
        "  local t = nil\n"
        "  if kong.request.get_header('x-nil') then return t.field end\n"
        "end\n"
        "return H\n"
    )
    gw = await make_gateway(config(echo_upstream, [{"name": "boom"}]), plugins_dirs=[tmp_path])
    for header in ("x-boom", "x-nil"):
        async with http.get(gw.url + "/", headers={header: "1"}) as resp:
            assert resp.status == 500
            assert (await resp.json())["message"] == "An unexpected error occurred"
    assert "plugin 'boom' failed in phase 'access'" in caplog.text
    assert "attempt to index local 't' (a nil value)" in caplog.text
    assert "handler.lua:5" in caplog.text
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200


def write_plugin(root: Path, name: str, handler: str, schema: str | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "handler.lua").write_text(handler)
    (folder / "schema.lua").write_text(
        schema or f'return {{ name = "{name}", fields = {{ {{ config = {{ type = "record", fields = {{ {{ x = {{ type = "string" }} }} }} }} }} }} }}'
    )
    return folder


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("return { PRIORITY = 'high', VERSION = '1.0.0' }", "PRIORITY must be an integer"),
        ("return { PRIORITY = 1.5, VERSION = '1.0.0' }", "PRIORITY must be an integer"),
        ("return { PRIORITY = 1, VERSION = 'one' }", "VERSION must be a version string"),
        ("return { PRIORITY = 1, VERSION = '1.0.0', response = function() end, header_filter = function() end }",
         "cannot implement 'response' together with 'header_filter'"),
        ("return 42", "handler.lua must return the handler table"),
        ("local x = = 1", "unexpected symbol near '='"),
        ("local m = require 'pb'\nreturn { PRIORITY = 1, VERSION = '1.0.0' }",
         "module 'pb' not found"),
    ],
)
def test_load_time_checks(tmp_path, handler, message):
    folder = write_plugin(tmp_path, "bad", handler)
    with pytest.raises(PluginLoadError) as info:
        load_lua_plugin(LuaHost(), "bad", folder)
    assert message in str(info.value)
    assert "plugin 'bad'" in str(info.value)


def test_missing_module_message_names_plugin_file_and_module(tmp_path):
    folder = write_plugin(tmp_path, "needs", "local x = 1\nlocal pb = require 'pb'\nreturn {}")
    with pytest.raises(PluginLoadError) as info:
        load_lua_plugin(LuaHost(), "needs", folder)
    text = str(info.value)
    assert f"{folder}/handler.lua:2" in text and "module 'pb'" in text and "'needs'" in text


def test_own_modules_load_with_kong_names(tmp_path):
    folder = write_plugin(
        tmp_path,
        "multi",
        "local access = require 'kong.plugins.multi.access'\n"
        "local again = require('kong.plugins.multi.access')\n"
        "return { PRIORITY = 1, VERSION = '1.0.0', access = function(self, conf) return access.run() end, same = access == again }",
    )
    (folder / "access.lua").write_text("return { run = function() return 'ran' end }")
    host = LuaHost()
    spec = load_lua_plugin(host, "multi", folder)
    assert spec.extra["handler"][b"same"] is True
    assert spec.phases == ("access",)


def test_each_plugin_has_its_own_globals(tmp_path):
    host = LuaHost()
    a = host.compile_in("a", "SECRET = 'a-only'; string.upper = function() return 'pwned' end")
    a()
    b = host.compile_in("b", "return SECRET, string.upper('x'), ('y'):upper()")
    assert b() == (None, b"X", b"Y")


def test_ngx_base64_url_safe_round_trip():
    host = LuaHost()
    fn = host.compile_in(
        "t",
        "local b = require 'ngx.base64'\n"
        "local enc = b.encode_base64url('\\255\\254\\253 hi?')\n"
        "return enc, b.decode_base64url(enc), b.decode_base64url('a+b/')",
    )
    enc, dec, bad, err = fn()
    assert enc == b"__79IGhpPw"
    assert dec == b"\xff\xfe\xfd hi?"
    assert (bad, err) == (None, b"invalid input")
