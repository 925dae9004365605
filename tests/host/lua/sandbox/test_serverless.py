"""pre-function and post-function: Kong's serverless plugins, under ``untrusted_lua``.

Modelled on Kong's spec/03-plugins/33-serverless-functions: the schema (each code
string must compile; it is not run), the phases, ``return function`` state kept
across requests (one compilation per config), the plugins' place in the order, and
the three ``untrusted_lua`` modes.  Real requests through a real gateway.
"""

from __future__ import annotations

from typing import Any

import pytest

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings
from tests.conftest import service

OFF = "loading of untrusted Lua code disabled because 'untrusted_lua' config option is set to 'off'"
GENERIC_500 = "An unexpected error occurred"


def config(upstream: Any, *plugins: dict[str, Any], path: str = "/") -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {**service(upstream), "routes": [{"name": "r", "paths": [path], "plugins": list(plugins)}]}
        ],
    }


def pre(**phases: list[str]) -> dict[str, Any]:
    return {"name": "pre-function", "config": phases}


def post(**phases: list[str]) -> dict[str, Any]:
    return {"name": "post-function", "config": phases}


def validate(plugin: dict[str, Any], **settings: Any) -> None:
    registry = build_registry(Settings(**settings))
    load_data({"_format_version": "3.0", "plugins": [plugin]}, registry, source="kong.yml")


# -- schema ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["pre-function", "post-function"])
@pytest.mark.parametrize(
    "code",
    [
        '("hello world!"):find("world")',
        "local x = 1",
        "local x = 1 return function() x = x + 1 end",
        'error("should never happen")',  # compiled, never run
        'return "hello-world"',
    ],
)
def test_schema_accepts_code_that_compiles(name: str, code: str) -> None:
    validate({"name": name, "config": {"access": [code]}})


@pytest.mark.parametrize("name", ["pre-function", "post-function"])
def test_schema_reports_kongs_parse_error(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate({"name": name, "config": {"access": ["local x = 1", "print("]}})
    expected = f"error parsing {name}: [string \"print(\"]:1: unexpected symbol near '<eof>'"
    assert any("config.access[1]" in e and expected in e for e in info.value.errors), (
        info.value.errors
    )  # 0-based


def test_schema_refuses_bytecode() -> None:
    with pytest.raises(ConfigError) as info:
        validate(pre(access=["\x1bLJ\x02\x00garbage"]))
    assert any("attempt to load chunk with wrong mode" in e for e in info.value.errors), info.value.errors


def test_untrusted_lua_off_refuses_every_code_string() -> None:
    with pytest.raises(ConfigError) as info:
        validate(pre(access=["local x = 1"], log=["local y = 2"]), untrusted_lua="off")
    errors = info.value.errors
    assert any("config.access[0]" in e and OFF in e for e in errors), errors
    assert any("config.log[0]" in e and OFF in e for e in errors), errors


def test_priorities_and_trust_are_kongs() -> None:
    registry = build_registry(Settings())
    assert (registry.get("pre-function").priority, registry.get("post-function").priority) == (1000000, -1000)
    assert registry.get("pre-function").extra["trust"] == "sandboxed"
    assert build_registry(Settings(untrusted_lua="on")).get("pre-function").extra["trust"] == "trusted"


# -- running -----------------------------------------------------------------------------
async def test_access_code_runs_and_can_exit(make_gateway, echo_upstream, http) -> None:
    gw = await make_gateway(
        config(
            echo_upstream,
            pre(
                access=[
                    "kong.service.request.set_header('x-pre', 'one')",
                    "if kong.request.get_header('x-stop') then return kong.response.exit(418, {message = 'stopped'}) end",
                ]
            ),
        )
    )
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200
        assert (await resp.json())["headers"]["x-pre"] == "one"
    async with http.get(gw.url + "/", headers={"X-Stop": "1"}) as resp:
        assert resp.status == 418
        assert await resp.json() == {"message": "stopped"}


async def test_returned_function_keeps_its_upvalues(make_gateway, echo_upstream, http) -> None:
    """Compiled once per config: the chunk runs once, the function it returns every time
    (the first request runs it too)."""
    counter = (
        "local count = 0 return function() count = count + 1 kong.response.set_header('x-count', count) end"
    )
    gw = await make_gateway(config(echo_upstream, pre(access=[counter])))
    seen = []
    for _ in range(3):
        async with http.get(gw.url + "/") as resp:
            seen.append(resp.headers["x-count"])
    assert seen == ["1", "2", "3"]


async def test_first_run_that_exits_runs_the_chunk_again(make_gateway, echo_upstream, http) -> None:
    code = "local n = (n or 0) + 1 return kong.response.exit(200, {n = n})"
    gw = await make_gateway(config(echo_upstream, pre(access=[code])))
    for _ in range(2):
        async with http.get(gw.url + "/") as resp:
            assert await resp.json() == {"n": 1}


async def test_pre_runs_first_and_post_last(make_gateway, echo_upstream, http) -> None:
    gw = await make_gateway(
        config(
            echo_upstream,
            pre(access=["kong.ctx.shared.serverless = 'pre'"]),
            {"name": "tagger", "config": {"tag": "python"}},
            post(
                access=["kong.service.request.set_header('x-order', kong.ctx.shared.serverless .. ',post')"],
                header_filter=["kong.response.set_header('x-tag-seen', kong.response.get_header('x-tag'))"],
            ),
        )
    )
    async with http.get(gw.url + "/") as resp:
        body = await resp.json()
        assert body["headers"]["x-order"] == "pre,post"
        assert resp.headers["x-tag-seen"] == "python"  # post-function's header_filter ran after tagger's


async def test_every_response_phase(make_gateway, echo_upstream, http) -> None:
    gw = await make_gateway(
        config(
            echo_upstream,
            pre(
                header_filter=[
                    "kong.response.set_header('x-hf', 'yes') kong.response.clear_header('content-length')"
                ],
                body_filter=["if ngx.arg[1] ~= '' then ngx.arg[1] = '[' .. #ngx.arg[1] .. ']' end"],
                log=["ngx.shared.kong:incr('pre-function-log', 1, 0)"],
                access=[
                    "kong.response.set_header('x-logged', tostring(ngx.shared.kong:get('pre-function-log')))"
                ],
            ),
        )
    )
    async with http.get(gw.url + "/") as resp:
        assert resp.headers["x-hf"] == "yes"
        assert (await resp.text()).startswith("[")
        assert resp.headers["x-logged"] == "nil"
    async with http.get(gw.url + "/") as resp:
        assert resp.headers["x-logged"] == "1"  # the first request's log phase ran


# -- untrusted_lua -----------------------------------------------------------------------------
CPU_HEAVY = "local x = 0 for i = 1, 4e7 do x = x + i end return kong.response.exit(200, {done = true})"


async def test_sandbox_mode_limits_and_on_mode_does_not(make_gateway, echo_upstream, http) -> None:
    gw = await make_gateway(config(echo_upstream, pre(access=[CPU_HEAVY])))
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 500
        assert (await resp.json())["message"] == GENERIC_500
    gw = await make_gateway(config(echo_upstream, pre(access=[CPU_HEAVY])), untrusted_lua="on")
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200
        assert await resp.json() == {"done": True}


async def test_on_mode_sees_the_trusted_environment(make_gateway, echo_upstream, http) -> None:
    code = (
        "local s = require('kong.tools.string') "
        "return kong.response.exit(200, {split = s.split('a,b', ','), meta = type(getmetatable)})"
    )
    gw = await make_gateway(config(echo_upstream, pre(access=[code])), untrusted_lua="on")
    async with http.get(gw.url + "/") as resp:
        assert await resp.json() == {"split": ["a", "b"], "meta": "function"}


async def test_sandbox_requires_only_what_the_setting_allows(make_gateway, echo_upstream, http) -> None:
    code = "local cjson = require('cjson') return kong.response.exit(200, cjson.encode({ok = true}))"
    gw = await make_gateway(config(echo_upstream, pre(access=[code])))
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 500
    gw = await make_gateway(
        config(echo_upstream, pre(access=[code])), untrusted_lua_sandbox_requires=["cjson"]
    )
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200
        assert await resp.text() == '{"ok":true}'


async def test_required_modules_are_read_only_for_code_strings(make_gateway, echo_upstream, http) -> None:
    gw = await make_gateway(
        config(echo_upstream, pre(access=["require('cjson').encode = function() return 'pwned' end"])),
        untrusted_lua_sandbox_requires=["cjson"],
    )
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 500


async def test_sandbox_environment_links_globals(make_gateway, echo_upstream, http) -> None:
    code = "return kong.response.exit(200, {traceback = type(debug and debug.traceback)})"
    gw = await make_gateway(config(echo_upstream, pre(access=[code])))
    async with http.get(gw.url + "/") as resp:
        assert await resp.json() == {"traceback": "nil"}
    gw = await make_gateway(
        config(echo_upstream, pre(access=[code])), untrusted_lua_sandbox_environment=["debug.traceback"]
    )
    async with http.get(gw.url + "/") as resp:
        assert await resp.json() == {"traceback": "function"}


async def test_cpu_budget_is_a_setting(make_gateway, echo_upstream, http) -> None:
    code = "local x = 0 for i = 1, 3e6 do x = x + i end return kong.response.exit(200, {x = x})"
    gw = await make_gateway(config(echo_upstream, pre(access=[code])), sandbox_cpu_budget_ms=1)
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 500
    gw = await make_gateway(config(echo_upstream, pre(access=[code])), sandbox_cpu_budget_ms=5000)
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200
