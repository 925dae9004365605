"""``resty.ada``: WHATWG URLs, checked against lua-resty-ada's documented results and the
URL Standard's serializations; Kong's redirect plugin's exact call chain."""

from __future__ import annotations

from typing import Any

import pytest

from host.lua.runtime import LuaHost


@pytest.fixture(scope="module")
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str, *args: Any) -> Any:
    return host.compile_in("ada-test", "local ada = require 'resty.ada'\n" + src)(*args)


def href(host: LuaHost, url: str) -> Any:
    return run(host, "local u, err = ada.parse(...) if not u then return nil, err end return u:get_href()",
               url.encode())


def test_documented_synopsis(host):
    montreal = "https://www.7\u2011Eleven.com:1234/Home/../Privacy/Montréal".encode()
    got = run(host, "local u = assert(ada.parse(...)) return tostring(u), tostring(u:clear_port()), "
                    "ada.get_href(...), ada.clear_port(...)", montreal)
    assert got == (b"https://www.xn--7eleven-506c.com:1234/Privacy/Montr%C3%A9al",
                   b"https://www.xn--7eleven-506c.com/Privacy/Montr%C3%A9al") * 2


def test_decode_gives_every_component(host):
    got = run(host, "return ada.parse('https://user:pass@example.com:1234/foo/bar?baz#quux'):decode()")
    assert host.to_python(got) == {
        "scheme_type": 2, "protocol": "https:", "username": "user", "password": "pass",
        "origin": "https://example.com:1234", "host_type": 0, "host": "example.com:1234",
        "hostname": "example.com", "port": 1234, "pathname": "/foo/bar", "search": "?baz", "hash": "#quux",
    }


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTP://EXAMPLE.com:80/a/./b/../c", "http://example.com/a/c"),
    ("https://h/%2e%2E/x/.%2e/y", "https://h/y"),
    ("http://h\\a\\b?q#f", "http://h/a/b?q#f"),
    ("http://h/a b\"<>`{}^?x y'\"#z `", "http://h/a%20b%22%3C%3E%60%7B%7D%5E?x%20y%27%22#z%20%60"),
    ("foo://h/a b?x'y", "foo://h/a%20b?x'y"),
    ("http://0x7f.1/", "http://127.0.0.1/"),
    ("http://[::FFFF:1.2.3.4]:8080/", "http://[::ffff:102:304]:8080/"),
    ("  http://h/\t\n ", "http://h/"),
    ("mailto:Someone@Example.com", "mailto:Someone@Example.com"),
    ("file:///etc/hosts", "file:///etc/hosts"),
    ("ws://h:80/", "ws://h/"),
    ("http://u:p@h/", "http://u:p@h/"),
])
def test_parsing_normalizes_like_the_url_standard(host, url, expected):
    assert href(host, url) == expected.encode()


@pytest.mark.parametrize("url", ["not a url", "http://", "http://h:99999/", "http://a b/", "http://[::1/",
                                 "http://1.2.3.256/", ""])
def test_invalid_urls(host, url):
    assert href(host, url) == (None, b"invalid url")


def test_setters_getters_and_has(host):
    got = run(host, """
        local u = assert(ada.parse("https://user:pass@host:1234/path?search#hash"))
        local r = {}
        r[#r + 1] = u:set_pathname("/x y/../z"):set_search("a=1 2"):set_hash("top"):get_href()
        r[#r + 1] = u:set_protocol("wss"):set_port(443):get_href()
        r[#r + 1] = u:set_port("8443"):set_host("other:99"):set_username("a b"):set_password(""):get_href()
        r[#r + 1] = u:set_hostname("Ex.COM"):clear_search():clear_hash():get_href()
        r[#r + 1] = tostring(u:has_credentials()) .. tostring(u:has_password()) .. tostring(u:has_port())
          .. tostring(u:has_search()) .. tostring(u:has_hash()) .. tostring(u:has_hostname())
        r[#r + 1] = u:get_origin() .. " " .. u:get_host() .. " " .. u:get_port() .. " " .. u:get_scheme_type()
        r[#r + 1] = select(2, u:set_port("99999"))
        r[#r + 1] = select(2, u:set_protocol("mailto"))
        r[#r + 1] = select(2, u:set_hostname(""))
        r[#r + 1] = u:set_search("?q"):set_hash("#h"):get_href()
        r[#r + 1] = u:set_href("http://new/"):get_href()
        r[#r + 1] = select(2, u:set_href("::"))
        return r
    """)
    assert host.to_python(got) == [
        "https://user:pass@host:1234/z?a=1%202#top",
        "wss://user:pass@host/z?a=1%202#top",
        "wss://a%20b@other:99/z?a=1%202#top",
        "wss://a%20b@ex.com:99/z",
        "truefalsetruefalsefalsetrue",
        "wss://ex.com:99 ex.com:99 99 5",
        "unable to set port",
        "unable to set protocol",
        "unable to set hostname",
        "wss://a%20b@ex.com:99/z?q#h",
        "http://new/",
        "unable to set href",
    ]


def test_argument_errors_raise(host):
    ok, err = run(host, "return pcall(ada.parse, 42)")
    assert ok is False and b"invalid url" in err
    ok, err = run(host, "local u = ada.parse('http://h/') return pcall(u.set_search, u, 1)")
    assert ok is False and b"invalid query" in err


def test_base_urls_and_static_functions(host):
    got = run(host, """
        return ada.parse_with_base("../q?x#y", "http://h/a/b/c"):get_href(),
               ada.parse_with_base("//other/p", "https://h/"):get_href(),
               ada.can_parse("http://h/"), ada.can_parse("nope"), ada.can_parse_with_base("/p", "http://h"),
               ada.get_hostname("http://EXAMPLE.org:8/"), ada.set_pathname("http://h/a", "/b"),
               ada.get_port("http://h/"), select(2, ada.get_href("x"))
    """)
    assert got == (b"http://h/a/q?x#y", b"https://other/p", True, False, True, b"example.org",
                   b"http://h/b", b"", b"invalid url")


def test_the_redirect_plugin_chain(host):
    """Kong's redirect: location:set_pathname(request path):set_search(raw query):get_href()."""
    chain = ("return ada.parse(...):set_pathname(select(2, ...)):set_search(select(3, ...)):get_href()")
    assert run(host, chain, b"https://example.com/old?a=1", b"/new/path", b"x=1&y=2") == (
        b"https://example.com/new/path?x=1&y=2")
    assert run(host, chain, b"https://example.com:8443/", b"/p", b"") == b"https://example.com:8443/p"
    # an empty query and fragment that are present stay present (URL Standard)
    assert run(host, "return ada.parse('http://h/x?#'):set_pathname('/a/../b c'):get_href()") == b"http://h/b%20c?#"
