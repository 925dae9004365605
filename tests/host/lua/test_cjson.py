"""``cjson`` / ``cjson.safe`` as Kong plugins use them: lua-cjson's encoding rules, its
decoder's leniency and error messages, per-instance settings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from host.lua.runtime import LuaHost


@pytest.fixture
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str) -> Any:
    """Run ``src`` in a test plugin's environment; its result as Python data."""
    return host.to_python(host.compile_in("json-test", src)())


def encode(host: LuaHost, expr: str) -> str:
    """``cjson.encode(<expr>)`` as text."""
    return host.compile_in("json-test", f'local cjson = require "cjson" return cjson.encode({expr})')().decode()


# -- encode ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("{}", "{}"),
        ("{1, 2, 3}", "[1,2,3]"),
        ("{1, nil, 3}", "[1,null,3]"),
        ('{ [1] = "a", [3] = "c" }', '["a",null,"c"]'),
        ("cjson.empty_array", "[]"),
        ("setmetatable({}, cjson.empty_array_mt)", "[]"),
        ("setmetatable({ 1, 2 }, cjson.array_mt)", "[1,2]"),
        ('setmetatable({ x = 1 }, { __len = function() return 2 end, __index = function(_, i) return i * 10 end })',
         "[10,20]"),
        ("cjson.null", "null"),
        ("ngx.null", "null"),
        ("nil", "null"),
        ("0.1", "0.1"),
        ("1/3", "0.33333333333333"),
        ("1e15", "1e+15"),
        ("123456789012", "123456789012"),
        ("-0.0", "-0"),
        ('"a/b"', '"a\\/b"'),
        ('"q\\"\\\\\\n\\t\\1\\127"', '"q\\"\\\\\\n\\t\\u0001\\u007f"'),
        ('"\\255\\0"', None),   # invalid UTF-8 and NUL: checked separately below
        ("{ a = { b = { true, false } } }", '{"a":{"b":[true,false]}}'),
        ("{ [1.5] = 1 }", '{"1.5":1}'),
    ],
)
def test_encode(host, expr, expected):
    if expected is None:
        got = host.compile_in("json-test", f'return require("cjson").encode({expr})')()
        assert got == b'"\xff\\u0000"'
        return
    assert encode(host, expr) == expected


def test_encode_object_order_is_table_order(host):
    got = run(host, """
        local cjson = require "cjson"
        local t = { alpha = 1, beta = 2, gamma = 3, [10] = 4 }
        local keys = {}
        for k in pairs(t) do keys[#keys + 1] = tostring(k) end
        return { cjson.encode(t), keys }
    """)
    text, keys = got
    assert list(json.loads(text)) == keys


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("{ [1] = 1, [100] = 2 }", "Cannot serialise table: excessively sparse array"),
        ("{ f = function() end }", "Cannot serialise function: type not supported"),
        ("{ [true] = 1 }", "Cannot serialise boolean: table key must be a number or string"),
        ("0/0", "Cannot serialise number: must not be NaN or Infinity"),
        ("math.huge", "Cannot serialise number: must not be NaN or Infinity"),
    ],
)
def test_encode_errors_raise_and_safe_returns_them(host, expr, message):
    got = run(host, f"""
        local cjson, safe = require "cjson", require "cjson.safe"
        local ok, err = pcall(cjson.encode, {expr})
        local v, serr = safe.encode({expr})
        return {{ ok, err, v == nil, serr }}
    """)
    assert got == [False, message, True, message]


def test_encode_nesting_limit_catches_cycles(host):
    got = run(host, """
        local t = {} t.self = t
        local v, err = require("cjson.safe").encode(t)
        return { v == nil, err }
    """)
    assert got == [True, "Cannot serialise, excessive nesting (1001)"]


def test_encode_argument_count(host):
    got = run(host, """
        local ok, err = pcall(require("cjson").encode)
        local ok2, err2 = pcall(require("cjson.safe").encode, 1, 2)
        return { ok, err, ok2, err2 }
    """)
    assert got == [False, "bad argument #1 to 'encode' (expected 1 argument)",
                   False, "bad argument #1 to 'encode' (expected 1 argument)"]


def test_encode_settings(host):
    got = run(host, """
        local c = require("cjson").new()
        local out = {}
        c.encode_empty_table_as_object(false)
        out[1] = c.encode({ a = {} })
        c.encode_escape_forward_slash(false)
        out[2] = c.encode("a/b")
        c.encode_number_precision(16)
        out[3] = c.encode(1/3)
        c.encode_invalid_numbers("null")
        out[4] = c.encode({ 0/0 })
        c.encode_invalid_numbers(true)
        out[5] = c.encode({ math.huge, -math.huge })
        c.encode_sparse_array(true)
        out[6] = c.encode({ [1] = 1, [100] = 2 })
        c.encode_skip_unsupported_value_types(true)
        out[7] = c.encode({ 1, function() end, 3 })
        c.encode_max_depth(2)
        out[8] = select(2, pcall(c.encode, { { { 1 } } }))
        out[9] = require("cjson").encode({ a = {} })   -- the module itself is unchanged
        out[10] = select(2, pcall(c.encode_number_precision, 17))
        return out
    """)
    assert got[0] == '{"a":[]}'
    assert got[1] == '"a/b"'
    assert got[2] == "0.3333333333333333"
    assert got[3] == "[null]"
    assert got[4] == "[Infinity,-Infinity]"
    assert json.loads(got[5]) == {"1": 1, "100": 2}
    assert got[6] == "[1,3]"
    assert got[7] == "Cannot serialise, excessive nesting (3)"
    assert got[8] == '{"a":{}}'
    assert got[9].endswith("(expected integer between 1 and 16)")


def test_encode_indent(host):
    got = run(host, """
        local c = require("cjson").new()
        c.encode_indent("  ")
        return { c.encode({ a = { 1 } }) }
    """)
    assert got == ['{\n  "a": [\n    1\n  ]\n}']


# -- decode ---------------------------------------------------------------------------
def test_decode_values(host):
    got = run(host, r"""
        local cjson = require "cjson"
        local t = cjson.decode([[{"s":"a\/b\u00e9\ud83d\ude00","n":-1.5e2,"i":42,"b":[true,false,null],"o":{}}]])
        return { t.s, t.n, t.i, t.b[1], t.b[2], t.b[3] == cjson.null, t.b[3] == ngx.null, next(t.o) == nil,
                 getmetatable(t.b) == nil }
    """)
    assert got == ["a/bé😀", -150, 42, True, False, True, True, True, True]


def test_decode_scalars_and_lenient_numbers(host):
    got = run(host, """
        local d = require("cjson").decode
        return { d("3"), d('"x"'), d("true"), d(" 12 "), d("+1"), d("01"), d("0x10"), d("-Infinity") < 0,
                 d("NaN") ~= d("NaN"), d("1e400") == math.huge, d(7) }
    """)
    assert got == [3, "x", True, 12, 1, 1, 16, True, True, True, 7]


def test_decode_array_with_array_mt(host):
    got = run(host, """
        local c = require("cjson").new()
        c.decode_array_with_array_mt(true)
        local t = c.decode('{"list":[],"x":[1]}')
        return { getmetatable(t.list) == c.array_mt, c.encode(t.list), getmetatable(t) == nil }
    """)
    assert got == [True, "[]", True]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Expected value but found T_END at character 1"),
        ("{bad", "Expected object key string but found invalid token at character 2"),
        ("[1,2", "Expected comma or array end but found T_END at character 5"),
        ('{"a" 1}', "Expected colon but found T_INTEGER at character 6"),
        ('{"a":1 "b"}', "Expected comma or object end but found T_STRING at character 8"),
        ("[1] x", "Expected the end but found invalid token at character 5"),
        ('"abc', "Expected value but found unexpected end of string at character 5"),
        ('"\\q"', "Expected value but found invalid escape code at character 2"),
        ('"\\ud800x"', "Expected value but found invalid unicode escape code at character 2"),
        ("[-]", "Expected value but found invalid number at character 2"),
        ("tru", "Expected value but found invalid token at character 1"),
        ("\x00{}", "JSON parser does not support UTF-16 or UTF-32"),
        ("[" * 1001 + "]" * 1001, "Found too many nested data structures (1001) at character 1001"),
    ],
)
def test_decode_errors(host, text, message):
    fn = host.compile_in("json-test", """
        local ok, err = pcall(require("cjson").decode, ...)
        local v, serr = require("cjson.safe").decode(...)
        return ok, err, v, serr
    """)
    ok, err, value, safe_err = fn(text.encode())
    assert (ok, err, value, safe_err) == (False, message.encode(), None, message.encode())


def test_decode_comments_when_allowed(host):
    got = run(host, """
        local c = require("cjson").new()
        local strict = select(2, pcall(c.decode, '[1 /* two */, 2]'))
        c.decode_allow_comment(true)
        local t = c.decode('// lead\\n[1 /* two */, 2]')
        return { strict, t[1], t[2] }
    """)
    assert got == ["Expected comma or array end but found invalid token at character 4", 1, 2]


def test_decode_max_depth(host):
    got = run(host, """
        local c = require("cjson").new()
        c.decode_max_depth(2)
        return { select(2, pcall(c.decode, "[[[1]]]")), #c.decode("[[1]]") }
    """)
    assert got == ["Found too many nested data structures (3) at character 3", 1]


def test_round_trip_of_a_kong_like_document(host):
    doc = {"message": "ok", "data": {"items": [1, 2.5, "x"], "nested": {"deep": [True, None]}}, "url": "/a/b"}
    fn = host.compile_in("json-test", "local c = require 'cjson' return c.encode(c.decode(...))")
    assert json.loads(fn(json.dumps(doc).encode())) == doc


def test_module_fields(host):
    got = run(host, """
        local c, s = require "cjson", require "cjson.safe"
        return { c.null == ngx.null, s.null == c.null, s.empty_array == c.empty_array,
                 s.array_mt == c.array_mt, c._NAME, type(c.new().encode), s.new().decode("[") == nil }
    """)
    assert got == [True, True, True, True, "cjson", "function", True]
