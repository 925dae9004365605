"""``resty.lrucache`` (and its ``pureffi`` variant) and ``resty.counter``: the
per-worker caches and counters plugins keep between requests."""

from __future__ import annotations

import time
from typing import Any

import pytest

from host.lua.runtime import LuaHost
from tests.conftest import wait_until


@pytest.fixture
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str) -> Any:
    """Run ``src`` in a test plugin's environment; its result as Python data."""
    return host.to_python(host.compile_in("cache-test", src)())


def test_new_rejects_sizes_below_one(host):
    assert run(host, "local c, err = require('resty.lrucache').new(0) return { c == nil, err }") == [
        True,
        "size too small",
    ]
    assert run(host, "local c = require('resty.lrucache').new(3) return { c:count(), c:capacity() }") == [
        0,
        3,
    ]


def test_set_get_delete_and_flags(host):
    got = run(
        host,
        """
        local c = require("resty.lrucache").new(10)
        c:set("a", 1)
        c:set("b", false)                 -- false is a value
        c:set("t", { x = 1 }, nil, 7)
        local t, stale, flags = c:get("t")
        local _, _, a_flags = c:get("a")
        local deleted, missing = c:delete("a"), c:delete("nope")
        return { b = c:get("b"), tx = t.x, stale = stale == nil, flags = flags, a_flags = a_flags,
                 deleted = deleted, missing = missing, a = c:get("a") == nil, count = c:count() }
        """,
    )
    assert got == {
        "b": False,
        "tx": 1,
        "stale": True,
        "flags": 7,
        "a_flags": 0,
        "deleted": True,
        "missing": False,
        "a": True,
        "count": 2,
    }


def test_least_recently_used_is_evicted(host):
    got = run(
        host,
        """
        local c = require("resty.lrucache").new(3)
        c:set("a", 1); c:set("b", 2); c:set("c", 3)
        c:get("a")                       -- a becomes the most recently used
        c:set("d", 4)                    -- evicts b
        local after_d = c:get_keys()
        c:set("c", 30)                   -- updating refreshes c
        c:set("e", 5)                    -- evicts a
        return { after_d = after_d, keys = c:get_keys(), two = c:get_keys(2),
                 b = c:get("b") == nil, a = c:get("a") == nil, c = c:get("c"), count = c:count() }
        """,
    )
    assert got == {
        "after_d": ["d", "a", "c"],
        "keys": ["e", "c", "d"],
        "two": ["e", "c"],
        "b": True,
        "a": True,
        "c": 30,
        "count": 3,
    }


def test_get_keys_fills_a_given_table(host):
    got = run(
        host,
        """
        local c = require("resty.lrucache").new(5)
        c:set(1, "x"); c:set(2, "y")
        local res = { "old1", "old2", "old3", "old4" }
        local same = c:get_keys(0, res) == res
        return { same, res[1], res[2], res[3] == nil, res[4] }
        """,
    )
    assert got == [True, 2, 1, True, "old4"]


def test_ttl_expiry_returns_the_stale_value(host):
    set_items = host.compile_in(
        "cache-test",
        """
        CACHE = require("resty.lrucache").new(4)
        CACHE:set("short", "v1", 0.05, 3)
        CACHE:set("long", "v2", 60)
        CACHE:set("forever", "v3")
        """,
    )
    set_items()
    time.sleep(0.12)
    got = run(
        host,
        """
        if ngx.update_time then ngx.update_time() end
        local v, stale, flags = CACHE:get("short")
        return { v == nil, stale, flags, CACHE:get("long"), CACHE:get("forever"), CACHE:count() }
        """,
    )
    assert got == [True, "v1", 3, "v2", "v3", 3]


def test_flush_all_empties_the_cache(host):
    got = run(
        host,
        """
        local c = require("resty.lrucache").new(2)
        c:set("a", 1); c:set("b", 2)
        c:flush_all()
        local empty = { c:count(), #c:get_keys(), c:get("a") == nil }
        c:set("c", 3); c:set("d", 4); c:set("e", 5)
        return { empty = empty, keys = c:get_keys(), count = c:count() }
        """,
    )
    assert got == {"empty": [0, 0, True], "keys": ["e", "d"], "count": 2}


def test_pureffi_variant_uses_string_keys(host):
    got = run(
        host,
        """
        local pureffi = require "resty.lrucache.pureffi"
        local bad, err = pureffi.new(0)
        local c = pureffi.new(2, 0.5)
        c:set(1, "one")
        c:set("x", "ex")
        c:set("y", "why")                    -- evicts "1"
        c:set(2, "two", nil, 9)
        local v, _, flags = c:get("2")
        return { bad == nil, err, c:get("1") == nil, v, flags, c:count(), c:capacity(), c:get_keys() }
        """,
    )
    assert got == [True, "size too small", True, "two", 9, 2, 2, ["2", "y"]]


def test_counter_adds_locally_and_syncs_to_the_shared_dict(host):
    got = run(
        host,
        """
        local counter = require "resty.counter"
        local a = counter.new("kong_counters")
        local b = counter.new("kong_counters")     -- shares a's pending increments
        a:incr("hits"); a:incr("hits", 4); b:incr("hits"); b:incr("misses", 2)
        local before = a:get("hits")
        local synced = a:sync()
        local after, misses = b:get("hits"), b:get("misses")
        a:incr("hits", 10)
        a:sync()
        local total = a:get("hits")
        local new_value = a:reset("hits", 15)
        return { before == nil, synced, after, misses, total, new_value, a:get("hits") }
        """,
    )
    assert got == [True, True, 6, 2, 16, 1, 1]


def test_counter_validates_its_arguments(host):
    got = run(
        host,
        """
        local counter = require "resty.counter"
        local ok, err = pcall(counter.new, "kong_counters", -1)
        local c = counter.new("kong_counters")
        local r, rerr = c:reset("k")
        return { ok, err:match("expect sync_interval to be a positive number") ~= nil, r == nil, rerr }
        """,
    )
    assert got == [False, True, True, "expect a number at #2"]


async def test_counter_with_an_interval_syncs_from_a_timer(host):
    fn = host.compile_in(
        "cache-test",
        """
        local counter = require "resty.counter"
        COUNTER = counter.new("kong_counters", 0.02)
        COUNTER:incr("timed", 3)
        return COUNTER:get("timed")
        """,
    )
    assert fn() is None  # nothing synced yet
    read = host.compile_in("cache-test", "return COUNTER:get('timed')")
    await wait_until(lambda: read() == 3, timeout=2.0)
    timers = host.state.get("timers")
    if timers is not None:
        await timers.stop(grace=1.0)
