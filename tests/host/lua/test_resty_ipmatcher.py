"""``resty.ipmatcher`` and ``kong.tools.ip``: address parsing with inet_pton's rules,
matching addresses and CIDR ranges, validation and normalization helpers."""

from __future__ import annotations

import socket
import struct
from typing import Any

import pytest

from host.lua.runtime import LuaHost


@pytest.fixture(scope="module")
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str, *args: Any) -> Any:
    """Run ``src`` in a test plugin's environment with ``args`` as ``...``; its results."""
    fn = host.compile_in("ipmatcher-test", src)
    result = fn(*[host.to_lua(a) for a in args])
    if isinstance(result, tuple):
        return tuple(host.to_python(v) for v in result)
    return host.to_python(result)


IPV4 = [
    "1.2.3.4",
    "0.0.0.0",
    "255.255.255.255",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3",
    "1.2.3.4.5",
    " 1.2.3.4",
    "1.2.3.4 ",
    "0x1.2.3.4",
    "1..3.4",
    "192.168.001.1",
    "",
    "a.b.c.d",
]
IPV6 = [
    "::",
    "::1",
    "1::",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    ":1::",
    ":::",
    "1:2:3:4:5:6:7:",
    "::ffff:1.2.3.4",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1.2.3.4",
    "fe80::1%eth0",
    "FE80::ABCD",
    "12345::",
    "1:2:3:4:5:6:7::8",
    "::1.2.3.04",
    "::1.2.3.4:5",
    "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
    "1:2::3:4.5.6.7",
    "::g",
    "",
]


@pytest.mark.parametrize("text", IPV4)
def test_parse_ipv4_agrees_with_inet_pton(host, text):
    try:
        expected: Any = struct.unpack("!I", socket.inet_pton(socket.AF_INET, text))[0]
    except OSError:
        expected = False
    assert run(host, "return require('resty.ipmatcher').parse_ipv4(...)", text) == expected


@pytest.mark.parametrize("text", IPV6)
def test_parse_ipv6_agrees_with_inet_pton(host, text):
    try:
        expected: Any = list(struct.unpack("!IIII", socket.inet_pton(socket.AF_INET6, text)))
    except OSError:
        expected = False
    assert run(host, "return require('resty.ipmatcher').parse_ipv6(...)", text) == expected
    # brackets around an IPv6 literal are accepted
    assert run(host, "return require('resty.ipmatcher').parse_ipv6(...)", f"[{text}]") == expected


def test_match_addresses_and_ranges(host):
    got = run(
        host,
        """
        local m = assert(require("resty.ipmatcher").new({
          "127.0.0.1", "10.0.0.0/8", "192.168.1.128/25", "fe80::/16", "2001:db8::1", "::1/128",
        }))
        local out = {}
        for _, ip in ipairs({ "127.0.0.1", "127.0.0.2", "10.255.0.1", "11.0.0.1",
                              "192.168.1.200", "192.168.1.100", "fe80::abcd", "fe81::1",
                              "2001:db8::1", "2001:0db8:0:0::1", "2001:db8::2", "::1", "[::1]" }) do
          out[#out + 1] = m:match(ip)
        end
        return out
        """,
    )
    assert got == [True, False, True, False, True, False, True, False, True, True, False, True, True]


def test_match_all_and_invalid_input(host):
    got = run(
        host,
        """
        local ipmatcher = require "resty.ipmatcher"
        local all4 = ipmatcher.new({ "0.0.0.0/0" })
        local all6 = ipmatcher.new({ "::/0" })
        local m1, e1 = ipmatcher.new({ "1.2.3.4", "not-an-ip" })
        local m2, e2 = ipmatcher.new({ "10.0.0.0/33" })
        local ok, e3 = pcall(ipmatcher.new, "1.2.3.4")
        local bad, e4 = all4:match("1.2.3")
        return { all4:match("8.8.8.8"), all4:match("::1"), all6:match("2001::1"), all6:match("1.1.1.1"),
                 m1 == nil, e1, m2 == nil, e2, ok, e3:match("missing valid ip argument") ~= nil, bad, e4 }
        """,
    )
    assert got == [
        True,
        False,
        True,
        False,
        True,
        "invalid ip address: not-an-ip",
        True,
        "invalid ip address: 10.0.0.0/33",
        False,
        True,
        False,
        "invalid ip address, not ipv4 and ipv6",
    ]


def test_new_with_value_returns_the_matching_entrys_value(host):
    got = run(
        host,
        """
        local m = assert(require("resty.ipmatcher").new_with_value({
          ["10.0.0.0/8"] = "lan", ["10.1.2.3"] = "host", ["fd00::/8"] = "ula", ["::1"] = "lo",
        }))
        return { m:match("10.1.2.3"), m:match("10.9.9.9"), m:match("fdab::1"), m:match("::1"),
                 m:match("8.8.8.8") }
        """,
    )
    assert got == ["host", "lan", "ula", "lo", False]


def test_match_bin_takes_binary_addresses(host):
    v4 = socket.inet_pton(socket.AF_INET, "10.1.2.3")
    v6 = socket.inet_pton(socket.AF_INET6, "fe80::1")
    other = socket.inet_pton(socket.AF_INET, "11.1.2.3")
    got = run(
        host,
        """
        local m = require("resty.ipmatcher").new({ "10.0.0.0/8", "fe80::/10" })
        local a, b, c = ...
        return { m:match_bin(a), m:match_bin(b), m:match_bin(c), (m:match_bin("xyz")) }
        """,
        v4,
        v6,
        other,
    )
    assert got == [True, True, False, False]


def test_kong_tools_ip_validation(host):
    got = run(
        host,
        """
        local ip = require "kong.tools.ip"
        return {
          ip.is_valid_ipv4("1.2.3.4"), ip.is_valid_ipv4("::1"), ip.is_valid_ipv6("::1"),
          ip.is_valid_ip("1.2.3.4"), ip.is_valid_ip("nope"), ip.is_valid_ip(42),
          ip.is_valid_cidr("10.0.0.0/8"), ip.is_valid_cidr("10.0.0.0/33"), ip.is_valid_cidr("::/0"),
          ip.is_valid_cidr("fe80::/129"), ip.is_valid_cidr("10.0.0.0"),
          ip.is_valid_ip_or_cidr("10.0.0.1"), ip.is_valid_ip_or_cidr("fe80::/64"),
          ip.is_valid_cidr_v4("::/0"), ip.is_valid_cidr_v6("::/0"),
        }
        """,
    )
    assert got == [
        True,
        False,
        True,
        True,
        False,
        False,
        True,
        False,
        True,
        False,
        False,
        True,
        True,
        False,
        True,
    ]


def test_kong_tools_ip_normalize_and_format(host):
    got = run(
        host,
        """
        local ip = require "kong.tools.ip"
        local function pack(...) return { ... } end
        return {
          types = { ip.hostname_type("1.2.3.4"), ip.hostname_type("1.2.3.4:80"),
                    ip.hostname_type("::1"), ip.hostname_type("some::thing"),
                    ip.hostname_type("example.com:8000") },
          v4 = pack(ip.normalize_ipv4("001.002.003.004:123")),
          v4_bad = pack(ip.normalize_ipv4("1.2.3.256")),
          v4_port = pack(ip.normalize_ipv4("1.2.3.4:70000")),
          v6 = pack(ip.normalize_ipv6("[::1]:8080")),
          v6_full = pack(ip.normalize_ipv6("FE80::A:1")),
          v6_bad = pack(ip.normalize_ipv6("1::2::3")),
          name = pack(ip.check_hostname("example.com:8080")),
          name_bad = pack(ip.check_hostname("bad-.example.com")),
          norm = ip.normalize_ip("example.com"),
          fmt = { ip.format_host("::1", 80), ip.format_host("1.2.3.4", 80), ip.format_host("a.b"),
                  ip.format_host(ip.normalize_ip("001.002.003.004:123")),
                  ip.format_host({ host = "example.com" }, 81) },
          passthrough = pack(ip.format_host(ip.normalize_ip("1.2.3.999"))),
        }
        """,
    )
    assert got["types"] == ["ipv4", "ipv4", "ipv6", "ipv6", "name"]
    assert got["v4"] == ["1.2.3.4", 123]
    assert got["v4_bad"] == {2: "invalid ipv4 address: 1.2.3.256"}
    assert got["v4_port"] == {2: "invalid port number"}
    assert got["v6"] == ["0000:0000:0000:0000:0000:0000:0000:0001", 8080]
    assert got["v6_full"] == ["fe80:0000:0000:0000:0000:0000:000a:0001"]
    assert got["v6_bad"] == {2: "invalid ipv6 address: 1::2::3"}
    assert got["name"] == ["example.com", 8080]
    assert got["name_bad"] == {2: "invalid hostname: bad-.example.com"}
    assert got["norm"] == {"type": "name", "host": "example.com"}
    assert got["fmt"] == [
        "[0000:0000:0000:0000:0000:0000:0000:0001]:80",
        "1.2.3.4:80",
        "a.b",
        "1.2.3.4:123",
        "example.com:81",
    ]
    assert got["passthrough"] == {2: "invalid ipv4 address: 1.2.3.999"}
