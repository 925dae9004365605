"""``kong.vendor.classic`` and ``kong.plugins.base_plugin``: Kong 1.x/2.x class-style
plugins, from the object model up to a plugin written that way serving requests."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from host.lua.runtime import LuaHost
from tests.conftest import service

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"


@pytest.fixture(scope="module")
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str) -> Any:
    """Run ``src`` in a test plugin's environment; its result as Python data."""
    result = host.compile_in("classic-test", src)()
    return host.to_python(result)


def test_classic_classes_instances_and_inheritance(host):
    got = run(
        host,
        """
        local Object = require "kong.vendor.classic"
        local Point = Object:extend()
        function Point:new(x, y) self.x, self.y = x or 0, y or 0 end
        function Point:__tostring() return "Point(" .. self.x .. ", " .. self.y .. ")" end
        function Point:sum() return self.x + self.y end
        local Point3 = Point:extend()
        function Point3:new(x, y, z) Point3.super.new(self, x, y); self.z = z end
        function Point3:sum() return Point3.super.sum(self) + self.z end
        local p, q = Point(1, 2), Point3(1, 2, 3)
        return {
          p_sum = p:sum(), q_sum = q:sum(),
          p_text = tostring(p), q_text = tostring(q),       -- __tostring is inherited
          q_is_point = q:is(Point), q_is_object = q:is(Object), p_is_point3 = p:is(Point3),
          class_is = Point3:is(Point), super = Point3.super == Point,
          object_text = tostring(Object:extend()()),
        }
        """,
    )
    assert got == {
        "p_sum": 3,
        "q_sum": 6,
        "p_text": "Point(1, 2)",
        "q_text": "Point(1, 2)",
        "q_is_point": True,
        "q_is_object": True,
        "p_is_point3": False,
        "class_is": True,
        "super": True,
        "object_text": "Object",
    }


def test_classic_implement_copies_only_missing_functions(host):
    got = run(
        host,
        """
        local Object = require "kong.vendor.classic"
        local Mixin = { hello = function() return "mixin hello" end,
                        name = function() return "mixin" end, data = 42 }
        local C = Object:extend()
        function C:name() return "own" end
        C:implement(Mixin)
        local c = C()
        return { c:hello(), c:name(), C.data == nil }
        """,
    )
    assert got == ["mixin hello", "own", True]


def test_base_plugin_names_itself_and_has_the_phase_methods(host):
    got = run(
        host,
        """
        local BasePlugin = require "kong.plugins.base_plugin"
        local My = BasePlugin:extend()
        function My:new() My.super.new(self, "my-plugin") end
        local h = My()
        local phases = {}
        for _, p in ipairs({ "init_worker", "certificate", "rewrite", "access",
                             "header_filter", "body_filter", "log", "response" }) do
          phases[p] = type(h[p])
        end
        h:access()     -- the parent's no-op phase methods can be called with self
        return { name = h._name, is = h:is(BasePlugin), class_is = My:is(BasePlugin),
                 phases = phases, same = require("kong.plugins.base_plugin") == BasePlugin }
        """,
    )
    assert got["name"] == "my-plugin"
    assert got["is"] is True and got["class_is"] is True and got["same"] is True
    assert got["phases"] == {
        "init_worker": "function",
        "certificate": "function",
        "rewrite": "function",
        "access": "function",
        "header_filter": "function",
        "body_filter": "function",
        "log": "function",
        "response": "nil",
    }


def test_base_plugin_phase_methods_log_a_debug_line(host, caplog):
    caplog.set_level(logging.DEBUG, logger="moongate.plugin")
    run(
        host,
        """
        local BasePlugin = require "kong.plugins.base_plugin"
        local My = BasePlugin:extend()
        function My:new() My.super.new(self, "chatty") end
        My():rewrite()
        """,
    )
    assert 'executing plugin "chatty": rewrite' in caplog.text


async def test_class_style_plugin_serves_requests(make_gateway, echo_upstream, http, caplog):
    caplog.set_level(logging.DEBUG, logger="moongate.plugin")
    gw = await make_gateway(
        {
            "_format_version": "3.0",
            "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "legacy-style", "config": {"tag": "v2", "blocked": ["mallory"]}}],
        },
        plugins_dirs=[LUA_PLUGINS],
    )
    async with http.get(gw.url + "/anything", headers={"X-User": " alice ", "X-Parts": "a,b,c"}) as resp:
        body = await resp.json()
        assert resp.status == 200
        assert resp.headers["X-Legacy"] == "v2"
        sent = {k.lower(): v for k, v in body["headers"].items()}
        assert sent["x-legacy-parts"] == "3"
        assert sent["x-legacy-query"] == "n=3&user=alice"
    async with http.get(gw.url + "/anything", headers={"X-User": "mallory"}) as resp:
        assert resp.status == 403
        assert await resp.json() == {"message": "user mallory is blocked"}
        assert resp.headers["X-Legacy"] == "v2"
    # the inherited BasePlugin methods ran too (super.access, super.header_filter)
    assert ": access" in caplog.text and ": header_filter" in caplog.text
