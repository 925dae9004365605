"""``ngx.re`` (match, find, gmatch, sub, gsub) and the ``ngx.re`` module (split) as Lua
plugins call them, checked against OpenResty's documented results."""

from __future__ import annotations

from typing import Any

import pytest

from host.lua.runtime import LuaHost


@pytest.fixture
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str) -> Any:
    """Run ``src`` in a test plugin's environment; its result as Python data."""
    return host.to_python(host.compile_in("re-test", src)())


# -- match ----------------------------------------------------------------------------
def test_match_returns_numbered_and_named_captures(host):
    got = run(host, r"""
        local m = ngx.re.match("hello, 1234", [[(?<word>[a-z]+), (\d+)(x)?]], "jo")
        return { m[0], m[1], m[2], m[3], m.word }
    """)
    assert got == ["hello, 1234", "hello", "1234", False, "hello"]


def test_match_without_a_match_returns_nil(host):
    assert run(host, 'return { ngx.re.match("hello", [[\\d+]]) == nil }') == [True]


def test_match_reuses_the_res_table(host):
    got = run(host, r"""
        local res = { extra = "kept" }
        local m = ngx.re.match("k=v", [[(\w)=(\w)]], "jo", nil, res)
        return { m == res, res[0], res[1], res[2], res.extra }
    """)
    assert got == [True, "k=v", "k", "v", "kept"]


def test_match_ctx_pos_walks_through_the_subject(host):
    got = run(host, r"""
        local ctx, out = {}, {}
        while true do
          local m = ngx.re.match("a1b22c333", [[\d+]], "jo", ctx)
          if not m then break end
          out[#out + 1] = m[0] .. "@" .. ctx.pos
        end
        return out
    """)
    assert got == ["1@3", "22@6", "333@10"]


def test_compile_errors_use_openresty_wording(host):
    got = run(host, """
        local m, err = ngx.re.match("abc", "(abc")
        local f1, f2, ferr = ngx.re.find("abc", "abc)")
        local it, gerr = ngx.re.gmatch("abc", "[a")
        return { m == nil, err, f1 == nil and f2 == nil, ferr, it == nil, gerr }
    """)
    assert got == [
        True, 'pcre2_compile() failed: missing closing parenthesis in "(abc"',
        True, 'pcre2_compile() failed: unmatched closing parenthesis in "abc)" at ")"',
        True, 'pcre2_compile() failed: missing terminating ] for character class in "[a"',
    ]


def test_unknown_option_raises(host):
    got = run(host, 'local ok, err = pcall(ngx.re.match, "a", "a", "jz") return { ok, err }')
    assert got == [False, 'unknown flag "z" (flags "jz")']


def test_quantifiers_above_pcre_limit_are_refused(host):
    got = run(host, 'local m, err = ngx.re.match("a", "a{70000}") return { err }')
    assert got == ['pcre2_compile() failed: number too big in {} quantifier in "a{70000}" at "}"']


# -- options --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("subject", "pattern", "opts", "expected"),
    [
        ("HeLLo", "hello", "i", "HeLLo"),
        ("a\nb", "^b$", "m", "b"),
        ("a\nb", "a.b", "s", "a\nb"),
        ("abc", " a  b # comment\n c", "x", "abc"),
        ("xab", "ab", "", "ab"),
        ("abcd", "a|ab|abc", "d", "abc"),           # DFA: the longest match
        ("abcd", "a|ab|abc", "", "a"),
    ],
)
def test_option_letters(host, subject, pattern, opts, expected):
    fn = host.compile_in("re-test", "local s, p, o = ... local m = ngx.re.match(s, p, o) return m and m[0]")
    assert fn(subject.encode(), pattern.encode(), opts.encode()).decode() == expected


def test_anchored_option_only_matches_at_the_start(host):
    got = run(host, """
        return { ngx.re.find("xab", "ab", "a") == nil, (ngx.re.find("abx", "ab", "a")) }
    """)
    assert got == [True, 1]


def test_utf8_option_offsets_are_bytes(host):
    got = run(host, """
        local m = ngx.re.match("héllo wörld", "(.)l", "u")
        local from, to = ngx.re.find("héllo wörld", "w.r", "u")
        local bytes_m = ngx.re.match("é", "^.$")
        return { m[1], from, to, bytes_m == nil }
    """)
    assert got == ["é", 8, 11, True]


def test_utf8_option_keeps_word_classes_ascii_but_folds_case(host):
    got = run(host, r"""
        return { ngx.re.find("é", [[\w]], "u") == nil, ngx.re.find("É", "é", "iu") ~= nil }
    """)
    assert got == [True, True]


def test_utf8_option_reports_invalid_subjects(host):
    got = run(host, r'local m, err = ngx.re.match("\xff", ".", "u") return { m == nil, err }')
    assert got == [True, "pcre_exec() failed: -22"]


def test_duplicate_names_need_the_D_option(host):
    got = run(host, r"""
        local m = ngx.re.match("hello, world", [[(?<w>\w+), (?<w>\w+)]], "D")
        local none, err = ngx.re.match("hello, world", [[(?<w>\w+), (?<w>\w+)]])
        return { m.w, m[1], m[2], none == nil, err:find("two named subpatterns have the same name", 1, true) ~= nil }
    """)
    assert got == [["hello", "world"], "hello", "world", True, True]


# -- PCRE syntax the translation covers --------------------------------------------------
@pytest.mark.parametrize(
    ("subject", "pattern", "expected"),
    [
        ("foo\n", r"foo\Z", "foo"),              # PCRE's \Z allows a final newline
        ("foo\n", r"foo\z", None),               # \z does not
        ("a.b+", r"\Qa.b+\E", "a.b+"),
        ("x1Y", "[[:alpha:]]+", "x"),
        ("A", r"\x{41}", "A"),
        ("aaab", "a++b", "aaab"),
        ("aaa", "(?>a+)a", None),
        ("abab", r"(?<p>ab)\k<p>", "abab"),
        ("xyxy", r"(x)(y)\g{-2}\g{-1}", "xyxy"),
        ("a-b", r"\N-\N", "a-b"),
        ("a\x0bb", r"a\vb", "a\x0bb"),
        ("abc", r"ab\Kc", "c"),
    ],
)
def test_pcre_syntax(host, subject, pattern, expected):
    fn = host.compile_in("re-test", "local s, p = ... local m = ngx.re.match(s, p) return m and m[0]")
    got = fn(subject.encode(), pattern.encode())
    assert (got.decode() if got is not None else None) == expected


# -- find -----------------------------------------------------------------------------
def test_find_returns_positions_and_nth_capture(host):
    got = run(host, r"""
        local a, b = ngx.re.find("hello 1234", [[(\d)(\d+)]], "jo")
        local c, d = ngx.re.find("hello 1234", [[(\d)(\d+)]], "jo", nil, 2)
        local e, f = ngx.re.find("hello 1234", [[(x)?\d+]], "jo", nil, 1)
        local g, h, err = ngx.re.find("hello 1234", [[(\d)]], "jo", nil, 2)
        local miss = ngx.re.find("hello", [[\d]])
        return { a, b, c, d, e == nil and f == nil, g == nil, err, miss == nil }
    """)
    assert got == [7, 10, 8, 10, True, True, "nth out of bound", True]


def test_find_updates_ctx_pos(host):
    got = run(host, r"""
        local ctx = { pos = 3 }
        local from, to = ngx.re.find("a1b2c3", [[\d]], "jo", ctx)
        return { from, to, ctx.pos }
    """)
    assert got == [4, 4, 5]


# -- gmatch ---------------------------------------------------------------------------
def test_gmatch_iterates_matches_and_empty_matches(host):
    got = run(host, r"""
        local words = {}
        for m in ngx.re.gmatch("one two  three", [[(\w+)]]) do words[#words + 1] = m[1] end
        local empties = 0
        local it = ngx.re.gmatch("ab", "")
        while it() do empties = empties + 1 end
        return { words, empties, it() == nil }
    """)
    assert got == [["one", "two", "three"], 3, True]


def test_gmatch_survives_a_full_pattern_cache(host):
    got = run(host, r"""
        local it = ngx.re.gmatch("a1b2c3", [[\d]])
        local first = it()[0]
        for i = 1, 1100 do ngx.re.find("x", "x" .. i) end   -- more than the 1024 cached
        return { first, it()[0], it()[0], it() == nil }
    """)
    assert got == ["1", "2", "3", True]


# -- sub / gsub -----------------------------------------------------------------------
def test_gsub_template(host):
    got = run(host, r"""
        local s, n = ngx.re.gsub("hello world", [[(\w)(\w+)]], "[$0|$1|${2}|$$|$9]")
        local one, n1 = ngx.re.sub("a-b-c", "-", "+")
        local same, n0 = ngx.re.gsub("abc", [[\d]], "x")
        return { s, n, one, n1, same, n0 }
    """)
    assert got == ["[hello|h|ello|$|] [world|w|orld|$|]", 2, "a+b-c", 1, "abc", 0]


def test_gsub_with_a_function(host):
    got = run(host, r"""
        local calls = {}
        local s, n = ngx.re.gsub("k1=v1;k2=v2", [[(?<k>\w+)=(\w+)]], function(m)
          calls[#calls + 1] = m.k
          return m[2]:upper() .. "=" .. m[1]
        end)
        return { s, n, calls }
    """)
    assert got == ["V1=k1;V2=k2", 2, ["k1", "k2"]]


def test_gsub_empty_matches_advance_one_character(host):
    assert run(host, 'return { ngx.re.gsub("abc", "x*", "-") }') == ["-a-b-c-", 4]


def test_invalid_templates_fail_to_compile(host):
    got = run(host, """
        local out = {}
        for _, t in ipairs({ "${name}", "$name", "$", "${1" }) do
          local s, n, err = ngx.re.gsub("abc", "b", t)
          out[#out + 1] = err
        end
        return out
    """)
    assert got == ["failed to compile the replacement template"] * 4


# -- split ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ('"a,b,,c,,", ","', ["a", "b", "", "c"]),
        ('"a1b2c", [[(\\d)]]', ["a", "1", "b", "2", "c"]),
        ('"abc", ""', ["a", "b", "c"]),
        ('"a,b,c,d", ",", nil, nil, 2', ["a", "b,c,d"]),
        ('",a,b", ","', ["", "a", "b"]),
    ],
)
def test_split(host, args, expected):
    assert run(host, f'return require("ngx.re").split({args})') == expected


def test_split_of_nothing_is_empty(host):
    assert run(host, 'return { #require("ngx.re").split("", ",") }') == [0]


def test_split_from_ctx_pos_and_into_res(host):
    got = run(host, """
        local re = require "ngx.re"
        local res = { "x", "y", "z", "w", "v" }
        local t = re.split("a,b,c", ",", nil, { pos = 3 }, nil, res)
        -- like OpenResty, only the slot after the last piece is cleared
        return { t == res, t[1], t[2], t[3] == nil, t[4] }
    """)
    assert got == [True, "b", "c", True, "w"]


def test_split_compile_error(host):
    got = run(host, 'local t, err = require("ngx.re").split("a", "(") return { t == nil, err }')
    assert got == [True, 'pcre2_compile() failed: missing closing parenthesis in "("']


def test_re_opt(host):
    got = run(host, """
        local re = require "ngx.re"
        re.opt("jit_stack_size", 65536)
        return { pcall(re.opt, "nope", 1) }
    """)
    assert got[0] is False and "unrecognized option name" in got[1]
