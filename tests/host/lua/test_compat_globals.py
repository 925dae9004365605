"""``os.getenv`` and LuaSocket's module globals in trusted plugins
(tests/lua_plugins/kong/plugins/compat-globals): a plugin reads only the variables the
operator declared (nginx_main_env, Kong's ``env`` directives), and uses ``ltn12`` and
``socket`` without requiring them, as it can under Kong."""

from __future__ import annotations

from typing import Any

import pytest

from host.lua.modules.moongate_getenv import declared_env, parse_env_directives
from host.lua.runtime import LuaHost
from host.settings import Settings
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


def config(upstream: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-globals"}],
    }


async def upstream_headers(gw: Any, http: Any) -> dict[str, str]:
    async with http.get(gw.url + "/g") as resp:
        assert resp.status == 200
        return {k.lower(): v for k, v in (await resp.json())["headers"].items()}


async def test_declared_variables_only(lua_gateway, echo_upstream, http, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MG_COMPAT_DECLARED", "visible")
    monkeypatch.setenv("MG_COMPAT_HIDDEN", "secret")
    gw = await lua_gateway(
        config(echo_upstream), nginx_main_env=["MG_COMPAT_DECLARED; env MG_COMPAT_FIXED=set"]
    )
    headers = await upstream_headers(gw, http)
    assert headers["x-env-declared"] == "visible"
    assert headers["x-env-hidden"] == "nil"  # in the environment, not declared: nil, as under nginx
    assert headers["x-env-fixed"] == "set"  # `env NAME=value` gives the value


async def test_nothing_declared_reads_nil(lua_gateway, echo_upstream, http, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MG_COMPAT_DECLARED", "visible")
    headers = await upstream_headers(await lua_gateway(config(echo_upstream)), http)
    assert headers["x-env-declared"] == "nil"
    assert headers["x-env-fixed"] == "nil"


async def test_module_globals_without_require(lua_gateway, echo_upstream, http):  # noqa: F811
    headers = await upstream_headers(await lua_gateway(config(echo_upstream)), http)
    assert headers["x-ltn12"] == "1:chunked text"
    assert headers["x-socket-global"] == "function"


def test_kong_env_syntax() -> None:
    assert parse_env_directives(["A; env B=1", " C ", "env D"]) == [
        ("A", None),
        ("B", "1"),
        ("C", None),
        ("D", None),
    ]
    environ = {"A": "a", "TZ": "UTC", "E": "e"}
    assert declared_env(["A; env B=1", "C"], environ) == {"TZ": "UTC", "A": "a", "B": "1"}


def test_getenv_misuse_and_unknown_globals() -> None:
    host = LuaHost(Settings(nginx_main_env=["PATH"]))
    fn = host.compile_in("t", "return type(os.getenv('PATH')), undefined_global == nil, pcall(os.getenv)")
    kind, missing, ok, err = fn()
    assert kind == b"string"
    assert ok is False and b"bad argument #1 to 'getenv' (string expected, got nil)" in err
    assert missing is True  # only the module globals resolve lazily


def test_io_reads_files_and_writes_none(tmp_path) -> None:
    # upstream-basic-auth-encrypted's schema reads its secret with io.open
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret\nsecond line\n")
    fn = LuaHost().compile_in(
        "t",
        """
        local path = ...
        local f = assert(io.open(path, "rb"))
        local first = f:read("*l")
        f:close()
        local n = 0
        for _ in io.lines(path) do n = n + 1 end
        local w, err = io.open(path, "a")
        return first, n, w, err, io.type(f), io.popen
        """,
    )
    assert fn(str(secret).encode()) == (
        b"s3cret",
        2,
        None,
        f"{secret}: plugins cannot change files in Moongate".encode(),
        b"closed file",
        None,
    )
    assert secret.read_text() == "s3cret\nsecond line\n"


def test_require_ngx_is_the_plugins_ngx() -> None:
    # OpenResty registers the ngx table as a module (oauth2-audience's schema does `require "ngx"`)
    fn = LuaHost().compile_in("t", "local n = require 'ngx' return n == ngx, type(n.re.match)")
    assert fn() == (True, b"function")


@pytest.mark.parametrize("name", ["os.getenv", "ltn12"])
def test_sandboxed_plugins_get_neither(name: str) -> None:
    from host.lua.sandbox import SandboxedHost

    host = SandboxedHost(Settings(nginx_main_env=["PATH"]))
    fn = host.compile_in("boxed", f"return {name} == nil")
    assert fn() is True  # Kong's sandbox offers neither
