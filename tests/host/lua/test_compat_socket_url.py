"""``socket.url``: LuaSocket's URL module, checked against LuaSocket's documented results
and RFC 2396/3986's resolution examples (the ones LuaSocket's own test suite uses)."""

from __future__ import annotations

from typing import Any

import pytest

from host.lua.runtime import LuaHost


@pytest.fixture(scope="module")
def host() -> LuaHost:
    return LuaHost()


def call(host: LuaHost, fn: str, *args: Any) -> Any:
    lua = host.compile_in("url-test", f"return require('socket.url').{fn}(...)")
    return host.to_python(lua(*[host.to_lua(a) if isinstance(a, (dict, list)) else
                                 a.encode() if isinstance(a, str) else a for a in args]))


def test_parse_gives_rfc2396_parts(host):
    assert call(host, "parse", "http://www.example.com/cgilua/index.lua?a=2#there") == {
        "scheme": "http", "authority": "www.example.com", "host": "www.example.com",
        "path": "/cgilua/index.lua", "query": "a=2", "fragment": "there",
    }
    assert call(host, "parse", "ftp://root:passwd@unsafe.org/pub/virus.exe;type=i") == {
        "scheme": "ftp", "authority": "root:passwd@unsafe.org", "userinfo": "root:passwd",
        "user": "root", "password": "passwd", "host": "unsafe.org", "path": "/pub/virus.exe",
        "params": "type=i",
    }
    assert call(host, "parse", "http://[::1]:8080/x") == {
        "scheme": "http", "authority": "[::1]:8080", "host": "::1", "port": "8080", "path": "/x",
    }
    assert call(host, "parse", "/relative/path?q") == {"path": "/relative/path", "query": "q"}
    assert call(host, "parse", "//h:1") == {"authority": "h:1", "host": "h", "port": "1"}


def test_parse_defaults_and_invalid(host):
    got = call(host, "parse", "//example.com/p", {"scheme": "https", "port": "443"})
    assert got == {"scheme": "https", "port": "443", "authority": "example.com", "host": "example.com",
                   "path": "/p"}
    fn = host.compile_in("url-test", "local p, err = require('socket.url').parse('') return { p, err }")
    assert host.to_python(fn()) == {2: "invalid url"}


def test_build_is_the_inverse_of_parse(host):
    for url in ("http://user:pw@host:81/a/b;p?q=1#f", "ftp://[::1]/x", "mailto:x@y", "/p?q", "//h/"):
        built = host.compile_in("url-test", "local u = require('socket.url') return u.build(u.parse(...))")
        assert built(url.encode()) == url.encode()
    assert call(host, "build", {"scheme": "http", "host": "h", "port": 8080, "user": "u",
                                "path": "/x", "query": "y"}) == "http://u@h:8080/x?y"
    assert call(host, "build", {"host": "::1", "path": "/"}) == "//[::1]/"


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("g:h", "g:h"), ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"), ("//g", "http://g"), ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"), ("#s", "http://a/b/c/d;p?q#s"), ("g#s", "http://a/b/c/g#s"),
        (";x", "http://a/b/c/d;x"), ("g;x?y#s", "http://a/b/c/g;x?y#s"), ("", "http://a/b/c/d;p?q#f"),
        (".", "http://a/b/c/"), ("./", "http://a/b/c/"), ("..", "http://a/b/"), ("../", "http://a/b/"),
        ("../g", "http://a/b/g"), ("../..", "http://a/"), ("../../g", "http://a/g"),
        ("../../../g", "http://a/g"), ("/./g", "http://a/g"), ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."), (".g", "http://a/b/c/.g"), ("g..", "http://a/b/c/g.."),
        ("./../g", "http://a/b/g"), ("g/./h", "http://a/b/c/g/h"), ("g/../h", "http://a/b/c/h"),
        # LuaSocket cleans the whole resolved URL, query and fragment included
        ("g?y/./x", "http://a/b/c/g?y/x"), ("g#s/./x", "http://a/b/c/g#s/x"),
    ],
)
def test_absolute_resolves_like_luasocket(host, relative, expected):
    assert call(host, "absolute", "http://a/b/c/d;p?q#f", relative) == expected


def test_absolute_with_empty_segments_and_odd_bases(host):
    base = "http://example.com/a/b/c/d/"
    assert call(host, "absolute", base, "..//../../../q") == "http://example.com/a/q"
    assert call(host, "absolute", base, "..//a/..//../../../q") == "http://example.com/a/b/q"
    assert call(host, "absolute", "http://example.com", ".badhost.com") == "http://example.com/.badhost.com"
    assert call(host, "absolute", "a/b/c/d/../", "d/e/f") == "a/b/c/d/e/f"
    assert call(host, "absolute", "//a/b/c/d;p?q#f", "d/e/f") == "//a/b/c/d/e/f"
    # a parsed base: its authority is what carries over (LuaSocket ignores a lone host)
    assert call(host, "absolute", {"scheme": "http", "authority": "a", "path": "/b/c"}, "../x") == "http://a/x"
    assert call(host, "absolute", {"scheme": "http", "host": "a", "path": "/b/c"}, "../x") == "http:/x"


def test_escape_unescape(host):
    assert call(host, "escape", "a b/c?d=é_") == "a%20b%2fc%3fd%3d%c3%a9_"
    assert call(host, "unescape", "a%20b%2Fc%zz%4") == "a b/c%zz%4"


def test_parse_path_and_build_path(host):
    assert call(host, "parse_path", "/a%20b/c/") == {1: "a b", 2: "c", "is_absolute": 1, "is_directory": 1}
    assert call(host, "parse_path", "x/y") == ["x", "y"]
    segments = {1: "a b", 2: "c:@&=+$,;", "is_absolute": 1, "is_directory": 1}
    assert call(host, "build_path", segments) == "/a%20b/c:@&=+$,%3B/"
    assert call(host, "build_path", segments, True) == "/a b/c:@&=+$,;/"
