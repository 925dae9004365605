"""``zlib`` (lua-zlib's API) and ``inspect`` (kikito's) through a plugin written the way
Moesif and api-transformer use them (tests/lua_plugins/kong/plugins/compat-compress),
plus the modules' edges from a bare runtime."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any

import pytest

from host.lua.runtime import LuaHost
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


def config(upstream: Any, mode: str) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-compress", "config": {"mode": mode}}],
    }


async def upstream_sees(gw: Any, http: Any, body: bytes, **headers: str) -> dict[str, Any]:
    async with http.post(gw.url + "/c", data=body, headers=headers) as resp:
        assert resp.status == 200
        got = await resp.json()
    got["headers"] = {k.lower(): v for k, v in got["headers"].items()}
    return got


async def test_deflated_payload_upstream(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, "deflate"))
    got = await upstream_sees(gw, http, b"event-1")
    raw = base64.b64decode(got["body"])  # sent as base64 text (see the plugin)
    assert json.loads(zlib.decompress(raw)) == {"events": ["event-1"]}
    assert got["headers"]["x-payload-encoding"] == "deflate"
    assert (
        got["headers"]["x-deflated"]
        == f"true/{len(json.dumps({'events': ['event-1']}, separators=(',', ':')))}"
    )
    assert got["headers"]["x-crc32"] == f"{zlib.crc32(b'event-1'):08x}"


async def test_gzip_body_inflated_and_config_inspected(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, "plain"))
    got = await upstream_sees(gw, http, gzip.compress(b"plain text " * 50), **{"X-Compressed": "gzip"})
    assert got["body"] == "plain text " * 50
    assert "x-compressed" not in got["headers"]
    assert got["headers"]["x-inflated"] == "true"
    shown = got["headers"]["x-inspect"]  # one line; Kong's private keys (__key__, ...) sort first
    assert shown.startswith("{ __key__ = ") and shown.endswith(' mode = "plain", tags = { "a", "b" } }')


INSPECT_CASES = [
    ("{1, 2, 3}", "{ 1, 2, 3 }"),
    ("{}", "{}"),
    ("{1, a = {b = 'x'}}", '{ 1,\n  a = {\n    b = "x"\n  }\n}'),
    (
        "{[5] = true, ['a b'] = 1, [true] = 2, z = 0}",
        '{\n  [5] = true,\n  [true] = 2,\n  ["a b"] = 1,\n  z = 0\n}',
    ),
    ("(function() local s = {} return {s, s} end)()", "{ <1>{}, <table 1> }"),
    ("(function() local c = {} c.me = c return c end)()", "<1>{\n  me = <table 1>\n}"),
    ("setmetatable({}, {__mode = 'k'})", '{\n  <metatable> = {\n    __mode = "k"\n  }\n}'),
    (
        "{f = print, g = print, h = type}",
        "{\n  f = <function 1>,\n  g = <function 1>,\n  h = <function 2>\n}",
    ),
    ("'say \"hi\"'", "'say \"hi\"'"),
    ("'a\\0001\\n\"'", "'a\\0001\\n\"'"),  # has double quotes only: single quotes
    ("'it\\'s \"x\"'", '"it\'s \\"x\\""'),  # both: double quotes, escaped
    ("inspect({a = {b = {c = 1}}}, {depth = 1})", "{\n  a = {...}\n}"),
    (
        "inspect({a = 1, key = 's', n = {key = 2}}, {process = function(item, path)"
        " if path[#path] == 'key' then return nil end return item end})",
        "{\n  a = 1,\n  n = {}\n}",
    ),
]


@pytest.mark.parametrize(("expr", "shown"), INSPECT_CASES)
def test_inspect_format(expr: str, shown: str) -> None:
    host = LuaHost()
    code = (
        f"local inspect = require 'inspect' local v = {expr} return type(v) == 'string' and v or inspect(v)"
    )
    if expr.startswith("inspect("):
        code = f"local inspect = require 'inspect' return {expr}"
    elif expr.startswith("'"):
        code = f"local inspect = require 'inspect' return inspect({expr})"
    assert host.compile_in("t", code)().decode() == shown


def test_zlib_streams_and_errors() -> None:
    host = LuaHost()
    fn = host.compile_in(
        "t",
        """
        local zlib = require 'zlib'
        local d = zlib.deflate(9, 31)              -- gzip
        local a, e1 = d(('x'):rep(1000), 'sync')
        local b, e2 = d('tail', 'finish')
        local inf = zlib.inflate(-15)              -- raw
        local raw = zlib.deflate(1, -15)('raw data', 'finish')
        local ok, err = pcall(zlib.inflate(), 'not compressed at all')
        local again = pcall(d, 'more')             -- a finished stream
        local sum = zlib.adler32() sum('a')
        return a .. b, e1, e2, inf(raw), ok, err, again, sum('bc'), zlib.adler32(1, 'abc')
        """,
    )
    gz, eof1, eof2, raw, ok, err, again, adler, adler_lzlib = fn()
    assert gzip.decompress(gz) == b"x" * 1000 + b"tail"
    assert (eof1, eof2) == (False, True)
    assert raw == b"raw data"
    assert ok is False and b"incorrect header check" in err
    assert again is False
    assert adler == adler_lzlib == zlib.adler32(b"abc")
