"""``kong.tools.sandbox`` and requires across plugin folders (tests/lua_plugins/kong/plugins/
compat-sandbox, compat-sandbox-lib): what Kong's http-log, tcp-log, udp-log, loggly,
request-transformer, pre-function and post-function need to load.  The code comes from
the plugin's configuration and follows the ``untrusted_lua`` setting."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from host.config.errors import ConfigError
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


def config(upstream: Any, expression: str) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-sandbox", "config": {"expression": expression}}],
    }


@pytest.mark.parametrize(
    ("untrusted_lua", "value", "flags"),
    [
        # on: over the plugin's environment, which has setmetatable
        ("on", "43+meta", "true|false|table"),
        # sandbox (the default): Kong's sandbox environment, in the runtime for untrusted code;
        # the PDK works from the code (the request is current)
        ("sandbox", "43", "true|true|table"),
    ],
)
async def test_the_code_runs_as_untrusted_lua_says(
    lua_gateway,  # noqa: F811
    echo_upstream,
    http,
    untrusted_lua: str,
    value: str,
    flags: str,
):
    expression = "return (40 + #kong.request.get_path()) .. (setmetatable and '+meta' or '')"
    gw = await lua_gateway(config(echo_upstream, expression), untrusted_lua=untrusted_lua)
    async with http.get(gw.url + "/ab") as resp:
        assert resp.status == 200
        assert resp.headers["X-Expression"] == value
        assert resp.headers["X-Sandbox"] == flags


async def test_the_code_may_end_the_request(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, "return kong.response.exit(403, { message = 'nope' })"))
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 403
        assert await resp.json() == {"message": "nope"}
        assert "X-Expression" not in resp.headers  # the calling handler ended there


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("while true do end", "sandbox violation (timeout): CPU budget of 50 ms exceeded"),
        ("return function() end", "may return only data, not functions"),
        ("return string.upper", "may return only data, not functions"),
    ],
)
async def test_what_the_sandbox_refuses_fails_only_that_request(
    lua_gateway,  # noqa: F811
    echo_upstream,
    http,
    caplog,
    expression: str,
    reason: str,
):
    caplog.set_level(logging.ERROR)
    gw = await lua_gateway(config(echo_upstream, expression), sandbox_cpu_budget_ms=50)
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 500
        assert (await resp.json())["message"].startswith("An unexpected error occurred")
    assert reason in caplog.text
    assert "plugin 'compat-sandbox' failed in phase 'access'" in caplog.text


async def test_schema_check_from_another_plugin_refuses_bad_code(lua_gateway, echo_upstream):  # noqa: F811
    with pytest.raises(
        ConfigError, match=r"config.expression: Error parsing function: .*unexpected symbol near 'not'"
    ):
        await lua_gateway(config(echo_upstream, "not lua code"), untrusted_lua="on")


async def test_off_refuses_every_code_string(lua_gateway, echo_upstream):  # noqa: F811
    with pytest.raises(ConfigError, match="'untrusted_lua' config option is set to 'off'"):
        await lua_gateway(config(echo_upstream, "return 1"), untrusted_lua="off")


def test_bytecode_is_refused_and_validate_runs_the_chunk() -> None:
    from host.lua.runtime import LuaHost
    from host.settings import Settings

    host = LuaHost(Settings(untrusted_lua="on"))
    probe = host.compile_in(
        "t",
        """
        local sandbox = require "kong.tools.sandbox"
        local ok1, err1 = pcall(sandbox.sandbox, "\\27LuaJ")
        local ok2, err2 = sandbox.validate("return 1")
        local fn = sandbox.parse("return function() return 'made' end")
        return err1, tostring(ok2) .. "|" .. tostring(err2), fn()
        """,
    )
    err1, validated, made = probe()
    assert err1 == b"attempt to load chunk with wrong mode"
    assert validated == b"false|Bad return value from function, expected function type, got number"
    assert made == b"made"
