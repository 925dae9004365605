"""Penlight's ``pl.template``, ``pl.stringx``, ``pl.tablex`` and ``pl.utils``: results as
Penlight documents them, and the template use of Kong's request-transformer."""

from __future__ import annotations

from typing import Any

import pytest

from host.lua.runtime import LuaHost


@pytest.fixture(scope="module")
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str, *args: Any) -> Any:
    return host.to_python(host.compile_in("pl-test", src)(*args))


# -- pl.template ----------------------------------------------------------------------------------


def test_code_lines_and_inline_expressions(host):
    got = run(host, """
        local template = require "pl.template"
        local src = "#  for i = 1,3 do\\n   $(i) Hello, $(who)!\\n#  end\\n"
        return (template.substitute(src, { who = "Word" }))
    """)
    assert got == "   1 Hello, Word!\n   2 Hello, Word!\n   3 Hello, Word!\n"


def test_custom_escapes_brackets_and_nil_values(host):
    got = run(host, """
        local template = require "pl.template"
        local ct = assert(template.compile("> for _, n in ipairs(names) do\\nstatic int l_${n} (lua_State *L);\\n> end\\n",
                                           { escape = ">", inline_brackets = "{}" }))
        local a = ct:render({ names = { "one", "two" }, ipairs = ipairs })
        local b = template.substitute("[$(missing)][$(f)][$(t)]", { f = false, t = true })
        local c = (template.substitute("$(x)", { _parent = { x = "from parent" } }))
        local d = template.compile("a\\nb $(1)\\nc", { newline = true }):render()
        return { a, b, c, d }
    """)
    assert got == ["static int l_one (lua_State *L);\nstatic int l_two (lua_State *L);\n",
                   "[][][true]", "from parent", "a\nb 1c"]  # as Penlight: only the text after the last $() loses its newlines


def test_request_transformer_usage(host):
    """Kong compiles each value with escape "\\xff" and renders it with a lazy environment."""
    got = run(host, """
        local template = require "pl.template"
        local opts = { escape = "\\255" }
        local ct = assert(template.compile("Bearer $(headers.token or 'none') #$(query_params.id)", opts))
        local env = setmetatable({}, { __index = function(t, k)
          local v = ({ headers = { token = "abc" }, query_params = { id = "7" } })[k]
          rawset(t, k, v)
          return v
        end })
        local out = ct:render(env)
        local out2 = ct:render({ headers = {}, query_params = { id = "8" } })
        local constant = assert(template.compile("plain # text", opts))
        local bad_status, bad_res, bad_err = pcall(template.compile, "$(1 +)", opts)
        local failed, err = ct:render({})
        return { out, out2, constant:render({ ignored = true }), bad_status, bad_res == nil, bad_err, failed == nil,
                 err }
    """)
    assert got[:5] == ["Bearer abc #7", "Bearer none #8", "plain # text", True, True]
    assert got[5].startswith('[string "TMP"]:1:') and "unexpected symbol" in got[5]
    assert got[6] is True and "attempt to index" in got[7]


def test_compiled_templates_keep_the_code_when_asked(host):
    got = run(host, """
        local template = require "pl.template"
        local ct = template.compile("$(x)", { debug = true, chunk_name = "mine" })
        local _, err = template.compile("$(x", { chunk_name = "mine" })
        local bad, err2, code = template.compile("# if then\\n", { chunk_name = "mine" })
        return { type(ct.code), err == nil, bad == nil, err2:sub(1, 15), type(code) }
    """)
    assert got == ["string", True, True, '[string "mine"]', "string"]


# -- pl.stringx -----------------------------------------------------------------------------------


def test_stringx(host):
    got = run(host, """
        local s = require "pl.stringx"
        local function list(t) return table.concat(t, "|") end
        return {
          list(s.split("  a  b c ")), list(s.split("a,b,,c,", ",")), list(s.split("a,b,c", ",", 2)),
          s.strip("  x  "), s.strip("--x--", "-"), s.lstrip("  x "), s.rstrip(" x  "),
          s.startswith("hello", "he"), s.startswith("hello", { "x", "hel" }), s.endswith("a.lua", ".lua"),
          s.replace("a.b.c", ".", "%", 1), s.count("aaa", "aa"), s.count("aaa", "aa", true),
          list(s.splitlines("a\\r\\nb\\nc")), s.join("-", { "a", "b" }), s.title("hello wORLD"),
          s.isdigit("123"), s.isdigit("12a"), s.center("x", 5, "*"), s.shorten("abcdefgh", 5),
          s.lfind("abcabc", "bc"), s.rfind("abcabc", "bc"), s.at("abc", 2), s.rjust("7", 3, "0"),
        }
    """)
    assert got == ["a|b|c", "a|b||c|", "a|b,c", "x", "x", "x ", " x", True, True, True, "a%b.c", 1, 2,
                   "a|b|c", "a-b", "Hello World", True, False, "**x**", "ab...", 2, 5, "b", "007"]


def test_stringx_argument_errors(host):
    got = run(host, "local ok, err = pcall(require('pl.stringx').strip, 42) return err")
    assert got.endswith("argument 1 expected a 'string', got a 'number'")


# -- pl.tablex and pl.utils -------------------------------------------------------------------------


def test_tablex(host):
    got = run(host, """
        local t = require "pl.tablex"
        local src = { a = 1, b = { c = 2 } }
        local cyclic = { x = {} }
        cyclic.x.self = cyclic.x
        local deep, deep_cyclic = t.deepcopy(src), t.deepcopy(cyclic)
        local sorted = {}
        for k, v in t.sort({ b = 2, a = 1, c = 3 }) do sorted[#sorted + 1] = k .. v end
        local ro = t.readonly({ 1 })
        return {
          t.size({ 1, 2, x = 3 }), deep.b ~= src.b and deep_cyclic.x.self == deep_cyclic.x and deep_cyclic.x ~= cyclic.x,
          t.deepcompare(deep, src),
          t.deepcompare({ 1, { 2 } }, { 1, { 3 } }), t.find({ "a", "b", "a" }, "a", 2), t.rfind({ "a", "b", "a" }, "a"),
          t.merge({ a = 1, b = 2 }, { b = 3, c = 4 }, true), t.merge({ a = 1, b = 2 }, { b = 3, c = 4 }),
          t.difference({ a = 1, b = 2 }, { b = 3 }), t.makeset({ "x", "y" }), t.count_map({ "a", "b", "a" }),
          t.imap(function(v) return v * 2 end, { 1, 2 }), t.filter({ 1, 2, 3, 4 }, function(v) return v % 2 == 0 end),
          t.reduce(function(a, b) return a + b end, { 1, 2, 3 }), t.range(1, 7, 3), table.concat(sorted, ","),
          t.index_by({ "a", "b", "c" }, { 3, 1 }), pcall(function() ro[1] = 2 end), #t.keys({ a = 1, b = 2 }),
        }
    """)
    assert got == [3, True, True, False, 3, 3, {"a": 1, "b": 3, "c": 4}, {"b": 2}, {"a": 1},
                   {"x": True, "y": True}, {"a": 2, "b": 1}, [2, 4], [2, 4], 6, [1, 4, 7], "a1,b2,c3",
                   ["c", "a"], False, 2]


def test_utils(host):
    got = run(host, """
        local u = require "pl.utils"
        local p = u.pack(1, nil, 3)
        local memo_calls = 0
        local sq = u.memoize(function(x) memo_calls = memo_calls + 1 return x * x end)
        sq(3) sq(3)
        local first, rest = u.splitv("user=jane=doe", "=", false, 2)
        return {
          p.n, select("#", u.unpack(p)), u.escape("a.b*c"), table.concat(u.split("a  b\\tc"), "|"),
          first, rest, u.is_type("x", "string"), u.choose(false, 1, 2), memo_calls,
          u.bind1(string.rep, "ab")(2), u.is_callable(print), select(2, pcall(u.assert_arg, 1, {}, "string")),
        }
    """)
    assert got[:11] == [3, 3, "a%.b%*c", "a|b|c", "user", "jane=doe", True, 2, 1, "abab", True]
    assert got[11].endswith("argument 1 expected a 'string', got a 'table'")
