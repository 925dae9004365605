"""ngx string helpers as Lua plugins call them: base64, digests, URI escaping, query
args and SQL quoting, with OpenResty's edge cases."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from host.lua.runtime import LuaHost
from tests.conftest import service


@pytest.fixture
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str) -> Any:
    """Run ``src`` in a test plugin's environment; its result as Python data."""
    return host.to_python(host.compile_in("string-test", src)())


def call(host: LuaHost, expr: str, *args: bytes) -> Any:
    """Evaluate ``expr`` with the arguments bound to ``a``, ``b``; the raw Lua result."""
    return host.compile_in("string-test", f"local a, b = ... return {expr}")(*args)


# -- base64 ---------------------------------------------------------------------------
def test_encode_base64(host):
    got = run(host, """
        return { ngx.encode_base64("hello"), ngx.encode_base64("hello", true), ngx.encode_base64(""),
                 ngx.encode_base64(nil), ngx.encode_base64(12) }
    """)
    assert got == ["aGVsbG8=", "aGVsbG8", "", "", "MTI="]


def test_encode_base64_checks_no_padding(host):
    got = run(host, 'local ok, err = pcall(ngx.encode_base64, "x", 1) return { ok, err }')
    assert got == [False, "bad no_padding: boolean expected, got number"]


def test_encode_base64_binary_round_trip(host):
    data = bytes(range(256))
    assert call(host, "ngx.encode_base64(a)", data) == base64.b64encode(data)
    assert call(host, "ngx.decode_base64(a)", base64.b64encode(data)) == data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"aGVsbG8=", b"hello"),
        (b"aGVsbG8", b"hello"),               # padding is optional
        (b"aGVsbG8=trailing", b"hello"),      # decoding stops at the first '='
        (b"", b""),
        (b"a", None),                         # 4k+1 characters cannot be base64
        (b"aGVs bG8=", None),                 # a character outside the alphabet
        (b"aGVsbG8_", None),                  # the URL-safe alphabet is not accepted
    ],
)
def test_decode_base64(host, text, expected):
    assert call(host, "ngx.decode_base64(a)", text) == expected


def test_decode_base64_needs_a_string(host):
    got = run(host, "local ok, err = pcall(ngx.decode_base64, 5) return { ok, err }")
    assert got == [False, "string argument only"]


def test_decode_base64mime_skips_line_breaks(host):
    assert call(host, "ngx.decode_base64mime(a)", b"aGVs\r\nbG8=") == b"hello"


# -- digests --------------------------------------------------------------------------
def test_digests(host):
    data = b"The quick brown fox \x00\xff"
    assert call(host, "ngx.md5(a)", data) == hashlib.md5(data).hexdigest().encode()
    assert call(host, "ngx.md5_bin(a)", data) == hashlib.md5(data).digest()
    assert call(host, "ngx.sha1_bin(a)", data) == hashlib.sha1(data).digest()
    assert call(host, "ngx.crc32_short(a)", data) == zlib.crc32(data)
    assert call(host, "ngx.crc32_long(a)", data) == zlib.crc32(data)
    assert call(host, "ngx.md5(nil)") == hashlib.md5(b"").hexdigest().encode()


def test_hmac_sha1(host):
    assert call(host, "ngx.hmac_sha1(a, b)", b"secret", b"message") == hmac.digest(b"secret", b"message", "sha1")
    got = run(host, 'local ok, err = pcall(ngx.hmac_sha1, "k") return { ok, err }')
    assert got == [False, "expecting 2 arguments, but got 1"]


# -- URI escaping ---------------------------------------------------------------------
def test_escape_uri_component_keeps_unreserved_and_sub_delims(host):
    assert call(host, "ngx.escape_uri(a)", "a b/c?d=é&!'()*-._~".encode()) == (
        b"a%20b%2Fc%3Fd%3D%C3%A9%26!'()*-._~"
    )


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (0, b"a%20b/c%3Fd=e&f+g%25%23%0A"),
        (1, b"a%20b/c%3Fd=e&f%2Bg%25%23%0A"),
        (2, b"a%20b%2Fc%3Fd%3De%26f%2Bg%25%23%0A"),
        (3, b"a%20b/c?d=e&f+g%25%23%0A"),
        (6, b"a%20b/c?d=e&f+g%25#%0A"),
    ],
)
def test_escape_uri_types(host, kind, expected):
    fn = host.compile_in("string-test", "local s, t = ... return ngx.escape_uri(s, t)")
    assert fn(b"a b/c?d=e&f+g%#\n", kind) == expected


_CTL_HIGH = set(range(0x20)) | set(range(0x7F, 0x100))
_ESCAPED = {   # nginx's escape sets, per ngx.escape_uri type
    0: _CTL_HIGH | set(b" #%?"),
    1: _CTL_HIGH | set(b" #%+?"),
    2: set(range(256)) - set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!'()*"),
    3: _CTL_HIGH | set(b" #\"%'"),
    4: _CTL_HIGH | set(b" \"'"),
    5: set(range(0x20)) | set(b" %"),
    6: set(range(0x20)) | set(b" %"),
}


@pytest.mark.parametrize("kind", sorted(_ESCAPED))
def test_escape_uri_every_byte(host, kind):
    data = bytes(range(256))
    expected = b"".join(b"%%%02X" % b if b in _ESCAPED[kind] else bytes([b]) for b in data)
    fn = host.compile_in("string-test", "local s, t = ... return ngx.escape_uri(s, t)")
    assert fn(data, kind) == expected
    plus = data if 0x2B in _ESCAPED[kind] else data.replace(b"+", b" ")   # a bare '+' is a space
    assert call(host, "ngx.unescape_uri(a)", expected) == plus


def test_escape_uri_rejects_bad_types(host):
    got = run(host, """
        local ok1, e1 = pcall(ngx.escape_uri, "x", 7)
        local ok2, e2 = pcall(ngx.escape_uri, "x", "2")
        return { ok1, e1, ok2, e2 }
    """)
    assert got[0] is False and got[1].endswith('"type" 7 out of range')
    assert got[2] is False and got[3].endswith('"type" is not a number')


def test_unescape_uri(host):
    assert call(host, "ngx.unescape_uri(a)", b"a+b%2Bc%zz%41%4") == b"a b+c%zzA%4"


# -- query args -----------------------------------------------------------------------
def test_encode_args(host):
    got = call(host, 'ngx.encode_args({ a = "1 2", flag = true, off = false, list = { "x", "y/z" }, n = 3 })')
    assert sorted(got.split(b"&")) == sorted([b"a=1%202", b"flag", b"list=x", b"list=y%2Fz", b"n=3"])
    assert call(host, 'ngx.encode_args({ ["k y"] = "v&w" })') == b"k%20y=v%26w"
    assert call(host, "ngx.encode_args({})") == b""


def test_encode_args_errors(host):
    got = run(host, """
        local _, e1 = pcall(ngx.encode_args, { [1] = "x" })
        local _, e2 = pcall(ngx.encode_args, { a = {} , b = function() end })
        return { e1, e2 }
    """)
    assert got[0].endswith('attempt to use a non-string key in the "args" option table')
    assert "as query arg value" in got[1]


def test_encode_then_decode_round_trip(host):
    got = run(host, """
        local s = ngx.encode_args({ q = "a&b=c d", tag = { "1", "2" } })
        local t = ngx.decode_args(s)
        return { t.q, t.tag }
    """)
    assert got == ["a&b=c d", ["1", "2"]]


def test_decode_args(host):
    got = run(host, """
        local t = ngx.decode_args("a=1&bare&a=2&=ignored&c=%20x+y&d=&a=3&e=f=g")
        return { t.a, t.bare, t.c, t.d, t.e, t[""] == nil }
    """)
    assert got == [["1", "2", "3"], True, " x y", "", "f=g", True]


def test_decode_args_limit(host):
    got = run(host, """
        local t, err = ngx.decode_args("a=1&b=2&c=3", 2)
        local all, none = ngx.decode_args("a=1&b=2&c=3", 0)
        return { t.a, t.b, t.c == nil, err, all.c, none == nil }
    """)
    assert got == ["1", "2", True, "truncated", "3", True]
    many = "&".join(f"k{i}=v" for i in range(150))
    fn = host.compile_in("string-test", "local t, err = ngx.decode_args(...) local n = 0 "
                         "for _ in pairs(t) do n = n + 1 end return n, err")
    assert fn(many.encode()) == (100, b"truncated")   # the default limit is 100


def test_quote_sql_str(host):
    assert call(host, "ngx.quote_sql_str(a)", b"it's \"x\"\n\\\x00\x1a\xc3\xa9") == (
        b"'it\\'s \\\"x\\\"\\n\\\\\\0\\Z\xc3\xa9'"
    )
    assert call(host, 'ngx.quote_sql_str("")') == b"''"


# -- end to end: the strings-demo Lua plugin through real requests ----------------------
LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"


def payload(doc: Any) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


async def strings_gateway(make_gateway, echo_upstream):
    return await make_gateway(
        {
            "_format_version": "3.0",
            "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "strings-demo", "config": {"secret": "s3cret"}}],
        },
        plugins_dirs=[LUA_PLUGINS],
    )


async def test_plugin_passes_regex_and_hmac_results_upstream(make_gateway, echo_upstream, http):
    gw = await strings_gateway(make_gateway, echo_upstream)
    doc = {"name": "Ada Lovelace", "tags": "math , poetry,engines"}
    async with http.get(gw.url + "/x", headers={"X-Payload": payload(doc)}) as resp:
        assert resp.status == 200
        assert resp.headers["X-Word-Count"] == "2"
        sent = {k.lower(): v for k, v in (await resp.json())["headers"].items()}
    signature = base64.b64encode(hmac.digest(b"s3cret", b"Ada Lovelace", "sha1")).decode()
    assert sent["x-first"] == "Ada" and sent["x-last"] == "Lovelace"
    assert sent["x-signature"] == signature
    assert json.loads(sent["x-tags"]) == ["math", "poetry", "engines"]


async def test_plugin_answers_with_a_cjson_body(make_gateway, echo_upstream, http):
    gw = await strings_gateway(make_gateway, echo_upstream)
    doc = {"name": "grace hopper", "echo": True}
    async with http.get(gw.url + "/", headers={"X-Payload": payload(doc)}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        text = await resp.text()
    assert json.loads(text) == {
        "first": "grace", "last": "hopper", "initials": "g. h.", "shout": "GRACE HOPPER", "tags": [],
        "signature": base64.b64encode(hmac.digest(b"s3cret", b"grace hopper", "sha1")).decode(),
        "nothing": None,
    }


async def test_plugin_reports_bad_payloads(make_gateway, echo_upstream, http):
    gw = await strings_gateway(make_gateway, echo_upstream)
    bad_json = base64.b64encode(b'{"name": "x" "y"}').decode()
    cases = [
        ({"X-Payload": "@@@"}, 400, "payload is not base64"),
        ({"X-Payload": bad_json}, 400, "bad payload: Expected comma or object end but found T_STRING at character 14"),
        ({"X-Payload": payload({"name": "one"})}, 422, "name must be two words"),
        ({}, 400, "missing payload"),
    ]
    for headers, status, message in cases:
        async with http.get(gw.url + "/", headers=headers) as resp:
            assert resp.status == status
            assert await resp.json() == {"message": message}
