"""``resty.string``, ``resty.md5`` / ``sha1`` / ``sha256`` / ``sha512`` and
``resty.random`` with lua-resty-string's object API."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from host.lua.runtime import LuaHost


@pytest.fixture
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str) -> Any:
    """Run ``src`` in a test plugin's environment; its result as Python data."""
    return host.to_python(host.compile_in("hash-test", src)())


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
def test_incremental_digest_matches_hashlib(host, algorithm):
    chunks = [b"The quick ", b"", b"brown fox \x00\xff", b"x" * 5000] + [b"%d" % i for i in range(100)]
    fn = host.compile_in("hash-test", f"""
        local resty_hash = require "resty.{algorithm}"
        local h = resty_hash:new()
        for _, chunk in ipairs(...) do assert(h:update(chunk) == true) end
        return h:final()
    """)
    assert fn(host.to_lua(chunks)) == hashlib.new(algorithm, b"".join(chunks)).digest()


def test_reset_starts_over_and_objects_are_independent(host):
    got = run(host, """
        local str = require "resty.string"
        local sha256 = require "resty.sha256"
        local a, b = sha256:new(), sha256.new()
        a:update("one")
        b:update("two")
        local first = str.to_hex(a:final())
        a:reset()
        a:update("two")
        return { first, str.to_hex(a:final()), str.to_hex(b:final()) }
    """)
    assert got == [hashlib.sha256(b"one").hexdigest(), hashlib.sha256(b"two").hexdigest(),
                   hashlib.sha256(b"two").hexdigest()]


def test_update_needs_a_string(host):
    got = run(host, 'local h = require("resty.sha1"):new() local ok, err = pcall(h.update, h, {}) return { ok, err }')
    assert got[0] is False and "string expected, got table" in got[1]


def test_to_hex_and_atoi(host):
    fn = host.compile_in("hash-test", "return require('resty.string').to_hex(...)")
    assert fn(bytes(range(256))) == bytes(range(256)).hex().encode()
    got = run(host, """
        local atoi = require("resty.string").atoi
        return { atoi("42"), atoi("  -17abc"), atoi("+3"), atoi("x1"), atoi("") }
    """)
    assert got == [42, -17, 3, 0, 0]


def test_random_bytes(host):
    got = run(host, """
        local random = require "resty.random"
        local a, b = random.bytes(32), random.bytes(32, true)
        return { #a, #b, a ~= b, #random.bytes(0), random.bytes(-1) == nil }
    """)
    assert got == [32, 32, True, 0, True]
