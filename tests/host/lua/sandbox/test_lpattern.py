"""The sandbox's Lua pattern matcher agrees with LuaJIT's C one, and takes over when a
pattern could run too long.

``lpattern.lua`` runs expensive patterns where the CPU budget can stop them; it must
give exactly what ``string.find/match/gmatch/gsub`` give (results and errors).  Each
case runs three ways: LuaJIT's C functions in a trusted runtime, ``lpattern`` itself,
and the string functions of a sandboxed runtime (which pick one of the two).
"""

from __future__ import annotations

from typing import Any

import pytest

from host.lua.runtime import LuaHost, _lua_file
from host.lua.sandbox import SandboxedHost

CASES: list[tuple[str, str, str]] = [
    # (function call as Lua source over s and p, subject, pattern)
    ("find", "hello world", "o w"),
    ("find", "hello world", "l+"),
    ("find", "hello world", "^h(.-)o"),
    ("find", "hello world", "(o)(r)"),
    ("find", "hello", "()ll()"),
    ("find", "hello", "xyz"),
    ("find", "hello", ""),
    ("find", "a.b.c", "%."),
    ("find", "key = value", "^(%w+)%s*=%s*(%w+)$"),
    ("find", "THE (quick) fox", "%((%a+)%)"),
    ("find", "f(a(b)c)d", "%b()"),
    ("find", "THE (quick) fox", "%f[%a]%a+"),
    ("find", "abcabc", "(abc)%1"),
    ("find", "aaab", "a-b"),
    ("find", "aaab", "a*b"),
    ("find", "aaab", "a?a?b"),
    ("find", "[x]", "[%[%]]"),
    ("find", "a]b", "[]]"),
    ("find", "a-b", "[a%-]+"),
    ("find", "x9y", "[^%a]"),
    ("find", "tab\there", "%c"),
    ("find", "end$", "d%$"),
    ("find", "end", "d$"),
    ("find", "\x00abc", "%z"),
    ("find", "Mixed Case", "%u%l+$"),
    ("find", "0x1F", "%x+$"),
    ("find", "a,b;c", "[%p]"),
    ("match", "  trim me  ", "^%s*(.-)%s*$"),
    ("match", "2026-11-22", "(%d+)-(%d+)-(%d+)"),
    ("match", "no digits", "%d+"),
    ("match", "abc", "()"),
    ("gmatch", "one two  three", "%a+"),
    ("gmatch", "k1=v1, k2=v2", "(%w+)=(%w+)"),
    ("gmatch", "abc", ""),
    ("gmatch", "^a^a", "^a"),
    ("gsub", "hello world", "o"),
    ("gsub", "hello world", "(%w+)"),
    ("gsub", "hello", ""),
    ("gsub", "abc", "^a"),
    ("gsub", "a b c", "%s"),
    # malformed patterns: the same error message
    ("find", "abc", "[a"),
    ("find", "abc", "a%"),
    ("find", "abc", "(a"),
    ("find", "abc", "a)"),  # no special character for find: a plain search
    ("match", "abc", "a)"),
    ("find", "abc", "%1"),
    ("find", "abc", "%f"),
    ("find", "abc", "%b"),
]

CALLS = {
    "find": "local r = {pcall(F.find, s, p)} return r",
    "match": "local r = {pcall(F.match, s, p)} return r",
    "gmatch": "local r = {pcall(function() local out = {} for a, b in F.gmatch(s, p) do "
    "out[#out + 1] = tostring(a) .. '|' .. tostring(b) end return table.concat(out, ',') end)} return r",
    "gsub": "local r = {pcall(F.gsub, s, p, '<%0>')} return r",
}
REPLACEMENTS = [
    "'[%1]'",
    "'%%'",
    "{hello = 'HI', o = 0}",
    "function(w) return w:upper() end",
    "function(w) return nil end",
    "function(w) return false end",
    "'%2'",
]


def _runner(host: LuaHost, funcs: str) -> Any:
    """A function running case ``kind`` with the string functions ``funcs`` of ``host``."""
    funcs_table = host.compile(f"return {funcs}")() if funcs != "lp" else LP(host)

    def run(kind: str, s: str, p: str) -> list[Any]:
        code = "return function(F, s, p) " + CALLS[kind] + " end"
        return host.to_python(host.compile(code)()(funcs_table, s.encode(), p.encode()))  # type: ignore[no-any-return]

    return run


def LP(host: LuaHost) -> Any:
    return host.runtime.eval("load")(_lua_file(b"lpattern"), b"@moongate/lpattern.lua")()


@pytest.fixture(scope="module")
def hosts() -> tuple[Any, Any, Any]:
    trusted = LuaHost()
    sandboxed = SandboxedHost()
    return _runner(trusted, "string"), _runner(trusted, "lp"), _runner(sandboxed, "string")


@pytest.mark.parametrize(("kind", "s", "p"), CASES, ids=[f"{k}:{p}" for k, _, p in CASES])
def test_same_results_and_errors(hosts: tuple[Any, Any, Any], kind: str, s: str, p: str) -> None:
    c_version, lua_version, sandbox_version = hosts
    expected = c_version(kind, s, p)
    assert lua_version(kind, s, p) == expected
    assert sandbox_version(kind, s, p) == expected


@pytest.mark.parametrize("repl", REPLACEMENTS)
def test_gsub_replacements(repl: str) -> None:
    code = (
        "return function(F) local out = {} "
        "for _, c in ipairs({{'hello world', '(%w+)'}, {'hello world', '%w+'}, {'abc', '(a)(b)'}}) do "
        f"local ok, r, n = pcall(F.gsub, c[1], c[2], {repl}) out[#out + 1] = {{ok, r, n}} end return out end"
    )
    host = LuaHost()
    run = host.compile(code)()
    assert host.to_python(run(LP(host))) == host.to_python(run(host.compile("return string")()))


def test_init_and_anchors() -> None:
    host = LuaHost()
    code = (
        "return function(F) return {{F.find('abcabc', 'b', 3)}, {F.find('abcabc', 'b', -2)}, "
        "{F.match('abcabc', '^b', 2)}, {F.find('abc', 'c', -10)}, {F.gsub('abc', '%w', '%0%0', 2)}} end"
    )
    run = host.compile(code)()
    assert host.to_python(run(LP(host))) == host.to_python(run(host.compile("return string")()))


@pytest.mark.parametrize(
    ("subject", "pattern", "anchor", "route"),
    [
        (b"a" * 40, b".-.-.-b", True, "c"),  # short subject: cheap whatever the pattern
        (b"a" * 30_000, b".-.-.-b", True, "lua"),  # n^4: only the Lua matcher can be stopped
        (b"a" * 30, b"a?" * 28 + b"a" * 28, True, "lua"),  # exponential in the pattern
        (b" " * 200_000 + b"x", b"%s+", True, "c"),  # a trailing quantifier never backtracks
        (b"x" * 200_000, b"^%s*(.-)%s*$", True, "c"),  # trim: linear without long runs of spaces
        (b"x" + b" " * 100_000 + b"x", b"^%s*(.-)%s*$", True, "lua"),  # ... quadratic with one
        (b"ab " * 100_000, b"%s+b", True, "c"),  # runs of spaces are short: linear
        (b"(" * 50_000, b"%b()", True, "lua"),  # %b scans to the end from every start
        (b"hello world" * 1000, b"world", True, "c"),  # no special character
        (b"a" * 30_000, b"^a-b", False, "lua"),  # gmatch: ^ is a plain character
    ],
)
def test_expensive_patterns_go_to_the_lua_matcher(
    subject: bytes, pattern: bytes, anchor: bool, route: str
) -> None:
    host = SandboxedHost()
    assert host.H.sandbox_pattern_route(subject, pattern, 1, anchor) == route.encode()
