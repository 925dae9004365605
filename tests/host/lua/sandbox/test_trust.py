"""Trust levels: who decides where a plugin runs, and what each level isolates.

``trusted``: the worker's runtime, each plugin in its own environment (globals,
library tables, views of kong/ngx), nothing of Python reachable.  ``sandboxed``: a
runtime of its own with the sandbox's limits, also at load time.  Settings come
from the environment like every other setting (``KONG_*``/``MOONGATE_*``).
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.lua.trust import trust_of
from host.settings import Settings
from tests.conftest import service
from tests.host.lua.sandbox._gateway import GatewayProcess, Upstream

SCHEMA = 'return {{ name = "{name}", fields = {{ {{ config = {{ type = "record", fields = {{ {fields} }} }} }} }} }}\n'


def write_plugin(
    root: Path,
    name: str,
    access: str = "",
    *,
    top: str = "",
    fields: str = "",
    extra: dict[str, str] | None = None,
) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "schema.lua").write_text(SCHEMA.format(name=name, fields=fields))
    (folder / "handler.lua").write_text(
        textwrap.dedent(top) + "\nlocal P = { PRIORITY = 10, VERSION = '1.0.0' }\n"
        "function P:access(conf)\n" + textwrap.dedent(access) + "\nend\nreturn P\n"
    )
    for file, text in (extra or {}).items():
        (folder / file).write_text(text)
    return folder


def routes(upstream: Any, *names: str) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                **service(upstream),
                "routes": [{"name": n, "paths": ["/" + n], "plugins": [{"name": n}]} for n in names],
            }
        ],
    }


# -- choosing the level ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "name", "origin", "level"),
    [
        ({}, "my-plugin", "bundled", "trusted"),
        ({}, "my-plugin", "plugins_dir", "trusted"),
        ({}, "my-plugin", "untrusted_dir", "sandboxed"),
        ({"plugin_trust_default": "sandboxed"}, "my-plugin", "plugins_dir", "sandboxed"),
        ({"plugin_trust": {"my-plugin": "sandboxed"}}, "my-plugin", "plugins_dir", "sandboxed"),
        ({"plugin_trust": {"my-plugin": "trusted"}}, "my-plugin", "untrusted_dir", "trusted"),
        ({}, "pre-function", "bundled", "sandboxed"),
        ({"untrusted_lua": "on"}, "post-function", "bundled", "trusted"),
        ({"untrusted_lua": "off"}, "pre-function", "bundled", "trusted"),
        ({"plugin_trust": {"pre-function": "trusted"}}, "pre-function", "bundled", "sandboxed"),
    ],
)
def test_trust_of(settings: dict[str, Any], name: str, origin: str, level: str) -> None:
    assert trust_of(Settings(**settings), name, origin) == level


def test_unknown_levels_fail_the_plugin(tmp_path: Path) -> None:
    write_plugin(tmp_path, "odd")
    registry = build_registry(Settings(plugins_dirs=[str(tmp_path)], plugin_trust={"odd": "paranoid"}))
    assert "odd" not in registry
    assert "unknown trust level 'paranoid' (trusted, sandboxed or isolated)" in registry.failures["odd"]


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "KONG_PLUGIN_TRUST": "a:sandboxed, b:trusted",
            "KONG_UNTRUSTED_PLUGINS_DIRS": "/opt/market,/srv/more",
            "KONG_SANDBOX_CPU_BUDGET_MS": "20",
            "KONG_SANDBOX_MAX_MEMORY": "33554432",
            "KONG_UNTRUSTED_LUA_SANDBOX_REQUIRES": "cjson,resty.sha256",
            "KONG_UNTRUSTED_LUA_SANDBOX_ENVIRONMENT": "os.getenv",
        }
    )
    assert settings.plugin_trust == {"a": "sandboxed", "b": "trusted"}
    assert settings.untrusted_plugins_dirs == ["/opt/market", "/srv/more"]
    assert (settings.sandbox_cpu_budget_ms, settings.sandbox_max_memory) == (20, 32 << 20)
    assert settings.untrusted_lua_sandbox_requires == ["cjson", "resty.sha256"]
    assert settings.untrusted_lua_sandbox_environment == ["os.getenv"]


# -- trusted: one runtime, separate environments ---------------------------------------------
async def test_trusted_plugins_do_not_share_globals_or_libraries(tmp_path, make_gateway, echo_upstream, http):
    write_plugin(
        tmp_path,
        "a-writer",
        """
        LEAK = 'from a'
        string.upper = function() return 'pwned' end
        table.concat = nil
        local ok, err = pcall(function() kong.response.set_header = nil end)
        local ok2 = pcall(function() ngx.say = nil end)
        kong.response.set_header('x-a', tostring(ok) .. ',' .. tostring(ok2) .. ',' .. err:match('Cannot modify [%w._]+'))
    """,
    )
    write_plugin(
        tmp_path,
        "b-reader",
        """
        kong.response.set_header('x-b', table.concat({tostring(LEAK), string.upper('a'), type(ngx.say)}, ','))
    """,
    )
    gw = await make_gateway(routes(echo_upstream, "a-writer", "b-reader"), plugins_dirs=[tmp_path])
    async with http.get(gw.url + "/a-writer") as resp:
        assert resp.headers["x-a"] == "false,false,Cannot modify kong.response.set_header"
    async with http.get(gw.url + "/b-reader") as resp:
        assert resp.headers["x-b"] == "nil,A,function"


async def test_trusted_plugins_reach_nothing_of_python(tmp_path, make_gateway, echo_upstream, http):
    write_plugin(
        tmp_path,
        "prober",
        """
        local probes = {
          python = function() return python.eval end,
          pdk_globals = function() return kong.request.get_header.__globals__ end,
          getmetatable_view = function() return getmetatable(kong.request).__index end,
          string_mt = function() return getmetatable('').__index end,
          debug = function() return debug.getinfo end,
          load_binary = function() return assert(load(string.char(27) .. 'LJ')) end,
          ffi = function() return require('ffi') end,
          io_write = function() return io.open(os.tmpname and os.tmpname() or '/tmp/moongate-probe', 'w') end,
          io_popen = function() return io.popen end,
        }
        local failed = {}
        for name, probe in pairs(probes) do
          local ok, v = pcall(probe)
          if not ok or v == nil then failed[#failed + 1] = name end
        end
        table.sort(failed)
        return kong.response.exit(200, table.concat(failed, ','))
    """,
    )
    gw = await make_gateway(routes(echo_upstream, "prober"), plugins_dirs=[tmp_path])
    async with http.get(gw.url + "/prober") as resp:
        # io is read-only for trusted plugins (key files): no writing, no processes
        assert await resp.text() == (
            "debug,ffi,getmetatable_view,io_popen,io_write,load_binary,pdk_globals,python,string_mt"
        )


# -- sandboxed plugins ---------------------------------------------------------------------------
async def test_marketplace_plugin_runs_sandboxed(tmp_path, make_gateway, echo_upstream, http):
    write_plugin(
        tmp_path,
        "market",
        """
        local util = require('kong.plugins.market.util')
        local ok_cjson = pcall(require, 'cjson')
        local ok_host = pcall(require, 'moongate.kong')
        return kong.response.exit(200, {twice = util.twice(21), cjson = ok_cjson, host = ok_host,
                                         meta = type(setmetatable), load = type(load)})
    """,
        extra={"util.lua": "return { twice = function(x) return 2 * x end }\n"},
    )
    gw = await make_gateway(
        routes(echo_upstream, "market"), plugins_dirs=[], untrusted_plugins_dirs=[str(tmp_path)]
    )
    assert gw.gateway.registry.get("market").extra["trust"] == "sandboxed"
    async with http.get(gw.url + "/market") as resp:
        assert await resp.json() == {
            "twice": 42,
            "cjson": True,
            "host": False,
            "meta": "function",
            "load": "nil",
        }


@pytest.mark.parametrize(
    ("top", "message"),
    [
        ("while true do end", "CPU budget of 2 s exceeded while loading"),
        ("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 4e6) .. i end", "not enough memory"),
        ("require('ffi')", "require 'ffi' not allowed within sandbox"),
    ],
)
def test_hostile_load_time_code_fails_only_its_plugin(tmp_path: Path, top: str, message: str) -> None:
    write_plugin(tmp_path, "hostile", "", top=top)
    started = time.monotonic()
    registry = build_registry(Settings(untrusted_plugins_dirs=[str(tmp_path)]))
    assert time.monotonic() - started < 10
    assert "hostile" not in registry
    assert message in registry.failures["hostile"]
    assert "pre-function" in registry


def test_bytecode_plugin_files_are_refused(tmp_path: Path) -> None:
    folder = write_plugin(tmp_path, "binary", "")
    (folder / "handler.lua").write_bytes(b"\x1bLJ\x02\x00garbage")
    write_plugin(
        tmp_path,
        "binary-module",
        "require('kong.plugins.binary-module.helper')",
        top="local h = require('kong.plugins.binary-module.helper')",
    )
    (tmp_path / "binary-module" / "helper.lua").write_bytes(b"\x1bLJ\x02\x00more")
    registry = build_registry(Settings(untrusted_plugins_dirs=[str(tmp_path)]))
    assert "attempt to load chunk with wrong mode" in registry.failures["binary"]
    assert "attempt to load chunk with wrong mode" in registry.failures["binary-module"]


def test_looping_schema_validator_is_stopped(tmp_path: Path) -> None:
    write_plugin(
        tmp_path,
        "validator",
        "",
        fields="""{ n = { type = "number",
        custom_validator = function(v) while true do end end } }""",
    )
    registry = build_registry(Settings(untrusted_plugins_dirs=[str(tmp_path)]))
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_data(
            {"_format_version": "3.0", "plugins": [{"name": "validator", "config": {"n": 1}}]}, registry
        )
    assert time.monotonic() - started < 5
    assert any("CPU budget of 50 ms exceeded" in e for e in info.value.errors), info.value.errors


async def test_broken_runtime_is_recreated(tmp_path, make_gateway, echo_upstream, http):
    """A plugin that keeps what it allocates fills its runtime: the violation is a 500,
    then the runtime is replaced and the plugin starts afresh."""
    write_plugin(
        tmp_path,
        "hoarder",
        """
        hoard[#hoard + 1] = string.rep('x', 4e6) .. #hoard
        kong.response.set_header('x-hoard', #hoard)
    """,
        top="hoard = {}",
    )
    gw = await make_gateway(
        routes(echo_upstream, "hoarder"), untrusted_plugins_dirs=[str(tmp_path)], sandbox_max_memory=24 << 20
    )
    statuses = []
    for _ in range(8):
        async with http.get(gw.url + "/hoarder") as resp:
            statuses.append((resp.status, resp.headers.get("x-hoard")))
    box = gw.gateway.registry.get("hoarder").extra["sandbox"]
    first_failure = next(i for i, (status, _) in enumerate(statuses) if status == 500)
    assert statuses[:first_failure] == [(200, str(i + 1)) for i in range(first_failure)]
    assert statuses[first_failure + 1] == (200, "1")  # a new runtime: an empty hoard
    assert box.replaced >= 1


def test_isolated_is_a_level_whatever_the_source() -> None:
    for origin in ("plugins_dir", "untrusted_dir"):
        assert trust_of(Settings(plugin_trust={"x": "isolated"}), "x", origin) == "isolated"


# -- a lupa hazard, checked in a process of its own ---------------------------------------------
def test_values_kept_by_python_outlive_dropped_coroutines(tmp_path: Path) -> None:
    """lupa keeps, in each Lua object handed to Python, the coroutine it was made on;
    releasing it after that coroutine was collected crashed the process.  A timer
    registered by a handler that then exits (its coroutine is dropped), by a nested
    coroutine, and a table stored in kong.ctx.shared before an exit: then garbage."""
    plugins = tmp_path / "plugins"
    write_plugin(
        plugins,
        "timer-exit",
        """
        ngx.timer.at(0.3, function() end, {1, 2})
        coroutine.wrap(function() ngx.timer.at(0.3, function() end) end)()
        kong.ctx.shared.kept = {1, 2, 3}
        return kong.response.exit(200, 'armed')
    """,
    )
    write_plugin(plugins, "churn", "local t = {} for i = 1, 2e5 do t[i] = {i} end")  # garbage: GC cycles
    upstream = Upstream(tmp_path)
    try:
        gw = GatewayProcess(tmp_path, routes(upstream, "timer-exit", "churn"), plugins_dirs=[plugins])
        try:
            for _ in range(5):
                assert gw.get("/timer-exit").body == b"armed"
                assert gw.get("/churn").status == 200
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                assert gw.get("/churn").status == 200
            assert gw.alive(), gw.exit_status()
        finally:
            gw.stop()
    finally:
        upstream.stop()
