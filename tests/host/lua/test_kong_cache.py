"""kong.cache for Lua plugins: mlcache's get/probe/renew/invalidate semantics, per worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from host.config import load_data
from host.context import Context, reset_context, use_context
from host.lua.driver import drive
from host.lua.io_ops import io_op
from host.lua.modules.moongate_cache import purge_lua_cache
from host.lua.runtime import LuaHost
from pdk.phases import Phase
from tests.conftest import service
from tests.host.lua.test_kong_db import CONFIG, snapshot_of, stub_auth_plugins
from tests.host.lua.test_smoke import LUA_PLUGINS

PRELUDE = """
local calls = 0
local function P(...)   -- all results of a call, nil as "<nil>"
  local t = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v == nil then v = "<nil>" end
    t[i] = v
  end
  return t
end
"""


@io_op("test_cache_sleep")
async def _sleep(host: LuaHost, ctx: Any, seconds: Any) -> tuple[Any, ...]:
    await asyncio.sleep(float(seconds))
    return (True,)


def _nils(value: Any) -> Any:
    if isinstance(value, list):
        return [_nils(v) for v in value]
    return None if value == "<nil>" else value


@pytest.fixture
def host() -> Iterator[LuaHost]:
    ctx = Context(snapshot=snapshot_of(CONFIG))
    ctx.phase = Phase.access
    token = use_context(ctx)
    yield LuaHost()
    reset_context(token)


def run(host: LuaHost, src: str, *args: Any) -> Any:
    return _nils(host.to_python(host.compile_in("t", PRELUDE + src, "=t")(*args)))


def test_miss_then_hit(host):
    got = run(
        host,
        """
      local function load(a, b) calls = calls + 1; return { sum = a + b } end
      local v1, err1, hit1 = kong.cache:get("k", nil, load, 1, 2)
      local v2, err2, hit2 = kong.cache:get("k", nil, load, 1, 2)
      return { v1.sum, err1 == nil, hit1, v2 == v1, hit2, calls }
    """,
    )
    assert got == [3, True, 3, True, 1, 1]


def test_nil_values_are_negative_hits(host):
    got = run(
        host,
        """
      local function load() calls = calls + 1; return nil end
      local r1 = P(kong.cache:get("none", nil, load))
      local r2 = P(kong.cache:get("none", nil, load))
      return { r1, r2, calls, P(kong.cache:probe("none")) }
    """,
    )
    assert got == [[None, None, 3], [None, None, 1], 1, [0, None, None]]


def test_errors_are_returned_and_not_cached(host):
    got = run(
        host,
        """
      local function failing() calls = calls + 1; return nil, "db down" end
      local function raising() calls = calls + 1; error("boom") end
      local r1 = P(kong.cache:get("f", nil, failing))
      local r2 = P(kong.cache:get("f", nil, failing))
      local _, err3 = kong.cache:get("r", nil, raising)
      local r4 = P(kong.cache:probe("f"))
      return { r1, r2, err3, calls, r4 }
    """,
    )
    assert got[0] == [None, "failed to get from node cache: db down"]
    assert got[1] == got[0]
    assert got[2].startswith("failed to get from node cache: callback threw an error: t:")
    assert "boom" in got[2]
    assert got[3] == 3
    assert got[4] == [None, None, None]


def test_without_callback_a_miss_is_level_minus_one(host):
    assert run(host, 'return P(kong.cache:get("nothing"))') == [None, None, -1]


def test_ttls_from_options_and_from_the_callback(host):
    fn = host.compile_in(
        "t",
        PRELUDE
        + """
      local step = ...
      local function load(v, ttl) calls = calls + 1; return v, nil, ttl end
      if step == 1 then
        kong.cache:get("short", { ttl = 0.05 }, load, "a")
        kong.cache:get("neg", { neg_ttl = 0.05 }, load, nil)
        kong.cache:get("cb-ttl", { ttl = 100 }, load, "b", 0.05)
        kong.cache:get("forever", nil, load, "c")
        local ttl = kong.cache:probe("short")
        return { calls, ttl > 0 and ttl <= 0.05 }
      end
      local hits = {}
      for _, k in ipairs({ "short", "neg", "cb-ttl", "forever" }) do
        local _, _, hit = kong.cache:get(k, nil, load, "again")
        hits[#hits + 1] = hit
      end
      return hits
    """,
        "=t",
    )
    assert host.to_python(fn(1)) == [4, True]
    time.sleep(0.08)
    assert host.to_python(fn(2)) == [3, 3, 3, 1]


def test_negative_ttl_from_the_callback_skips_the_cache(host):
    got = run(
        host,
        """
      local function load() calls = calls + 1; return "v", nil, -1 end
      local r1 = P(kong.cache:get("skip", nil, load))
      local r2 = P(kong.cache:get("skip", nil, load))
      return { r1, r2, calls }
    """,
    )
    assert got == [["v", None, 3], ["v", None, 3], 2]


def test_probe_invalidate_purge_safe_set(host):
    got = run(
        host,
        """
      local function load(v) return v end
      kong.cache:get("a", nil, load, "A")
      kong.cache:get("b", nil, load, "B")
      kong.cache:get("c", nil, load, "C")
      local r = { P(kong.cache:probe("a")) }
      kong.cache:invalidate("a")
      kong.cache:invalidate_local("b")
      r[2] = { kong.cache:probe("a") == nil, kong.cache:probe("b") == nil, select(3, kong.cache:probe("c")) }
      kong.cache:purge()
      r[3] = kong.cache:probe("c") == nil
      r[4] = P(kong.cache:safe_set("s", "S"))
      r[5] = P(kong.cache:get("s"))
      return r
    """,
    )
    assert got == [[0, None, "A"], [True, True, "C"], True, [True, None, False], ["S", None, 1]]


def test_renew_and_get_bulk(host):
    got = run(
        host,
        """
      local function load(v) calls = calls + 1; return v end
      kong.cache:get("k", nil, load, "old")
      local r = { P(kong.cache:renew("k", nil, load, "new")) }
      r[2] = P(kong.cache:get("k", nil, load, "ignored"))
      r[3] = P(kong.cache:renew("k", nil, function() return nil, "nope" end))
      local res = kong.cache:get_bulk({ n = 2, "k", nil, load, "x", "fresh", nil, load, "F" })
      r[4] = { res.n, res[1], res[3], res[4], res[6] }
      r[5] = calls
      return r
    """,
    )
    assert got == [
        ["new", None, 0],
        ["new", None, 1],
        [None, "failed to renew key in node cache: nope"],
        [6, "new", 1, "F", 3],
        3,
    ]


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("kong.cache:get(1)", "key must be a string"),
        ("kong.cache:get('k', nil, 'not a function')", "callback must be nil or a function"),
        ("kong.cache:get('k', 5, function() end)", "opts must be a table"),
        ("kong.cache:get('k', { ttl = -1 }, function() end)", "opts.ttl must be >= 0"),
        ("kong.cache:get('k', { neg_ttl = 'x' }, function() end)", "opts.neg_ttl must be a number"),
        ("kong.cache:get('k', nil, function() return print end)", "cannot cache value of type function"),
        ("kong.cache:renew('k', nil, nil)", "callback must be a function"),
        ("kong.cache:probe(false)", "key must be a string"),
        ("kong.cache:get_bulk({ n = 1, 'k', nil, 'x' })", "callback at index 3 must be a function"),
    ],
)
def test_misuse_raises(host, src, message):
    with pytest.raises(Exception, match=message):  # noqa: PT011 - lupa's LuaError
        host.compile_in("t", src, "=t")()


def test_core_cache_is_the_same_cache(host):
    assert run(host, "return { kong.core_cache == kong.cache }") == [True]


def test_load_consumer_as_the_loader(host):
    got = run(
        host,
        """
      local alice = kong.db.consumers:select_by_username("alice")
      local key = kong.db.consumers:cache_key(alice.id)
      local c1, err, hit1 = kong.cache:get(key, nil, kong.client.load_consumer, alice.id, true)
      local c2, _, hit2 = kong.cache:get(key, nil, kong.client.load_consumer, alice.id, true)
      local by_name = kong.cache:get(kong.db.consumers:cache_key("bob"), nil, kong.client.load_consumer,
                                     "bob", true)
      local none = P(kong.cache:get(kong.db.consumers:cache_key("zed"), nil, kong.client.load_consumer,
                                    "zed", true))
      local _, bad = kong.cache:get("x", nil, kong.client.load_consumer, "zed")
      return { type(c1), c1.username, c1.id == alice.id, c1.custom_id, hit1, c2 == c1, hit2,
               by_name.username, none, bad }
    """,
    )
    assert got[:9] == ["table", "alice", True, "a-1", 3, True, 1, "bob", [None, None, 3]]
    assert got[9].startswith("failed to get from node cache: callback threw an error: ")
    assert "cannot load a consumer with an id that is not a uuid" in got[9]


def test_a_new_configuration_empties_the_cache(host):
    fn = host.compile_in("t", "return select(3, kong.cache:get('k', nil, function() return 1 end))", "=t")
    assert fn() == 3
    assert fn() == 1
    token = use_context(Context(snapshot=snapshot_of({"_format_version": "3.0"})))
    try:
        assert fn() == 3
    finally:
        reset_context(token)
    assert fn() == 3  # back to the first configuration: emptied again
    assert fn() == 1
    purge_lua_cache(host)
    assert fn() == 3


LOADER = """
local key, fail_first = ...
local cache = H.kong.cache
local calls = H.test_calls or 0
local function load()
  calls = calls + 1
  H.test_calls = calls
  H.io("test_cache_sleep", 0.05)
  if fail_first and calls == 1 then return nil, "first load failed" end
  return { loaded = calls }
end
local v, err, hit = cache:get(key, nil, load)
return v and v.loaded, err, hit
"""


async def test_concurrent_misses_run_the_loader_once(host):
    fn = host.compile(LOADER)
    results = await asyncio.gather(*(drive(host, host.H.new_request(), b"t", fn, b"same") for _ in range(5)))
    assert sorted(r[2] for r in results) == [2, 2, 2, 2, 3]
    assert {r[0] for r in results} == {1}
    assert host.H.test_calls == 1


async def test_waiters_load_again_when_the_loader_fails(host):
    fn = host.compile(LOADER)
    results = await asyncio.gather(
        *(drive(host, host.H.new_request(), b"t", fn, b"flaky", True) for _ in range(4))
    )
    errors = [r[1] for r in results if r[1] is not None]
    assert errors == [b"failed to get from node cache: first load failed"]
    assert sorted(r[2] for r in results if r[1] is None) == [2, 2, 3]
    assert host.H.test_calls == 2


async def test_concurrent_requests_load_a_credential_once(make_gateway, echo_upstream, http, tmp_path):
    """Five requests with the same new key: db-auth's loader (which waits for all five) runs once."""
    gw = await make_gateway(
        {
            "_format_version": "3.0",
            "services": [
                {
                    **service(echo_upstream),
                    "routes": [{"paths": ["/"], "plugins": [{"name": "db-auth", "config": {"wait_for": 5}}]}],
                }
            ],
            "consumers": CONFIG["consumers"],
        },
        plugins_dirs=[LUA_PLUGINS, stub_auth_plugins(tmp_path)],
    )

    async def call() -> tuple[int, str, str]:
        async with http.get(gw.url + "/", headers={"apikey": "bob-key"}) as resp:
            await resp.read()
            return resp.status, resp.headers["X-Cache-Hit-Level"], resp.headers["X-Credential-Loads"]

    results = await asyncio.gather(*(call() for _ in range(5)))
    assert [r[0] for r in results] == [200] * 5
    assert sorted(r[1] for r in results) == ["2", "2", "2", "2", "3"]
    assert {r[2] for r in results} == {"1"}
    status, hit, loads = await call()
    assert (status, hit, loads) == (200, "1", "1")


# -- kong.worker_events / kong.cluster_events (the channels Kong's cache invalidations use) --

EVENTS = """
local seen = {}
H.test_seen = seen
local function record(tag) return function(data, event, source) seen[#seen + 1] = tag .. ":" .. source .. "/" .. event .. "=" .. tostring(data) end end
local we = H.kong.worker_events
we.register(record("all"))
we.register(record("crud"), "crud")
local only = record("consumers")
we.register(only, "crud", "consumers", "routes")
we.register(function() error("handler bug") end, "crud", "consumers")
we.post("crud", "consumers", "d1")
local immediately = #seen
we.unregister(only)
we.post_local("crud", "routes", "d2")
return immediately, we.post("other", "x", "d3")
"""


async def test_worker_events_run_after_the_poster(host):
    immediately, done = await drive(host, None, None, host.compile(EVENTS))
    assert (immediately, done) == (0, b"done")
    await asyncio.sleep(0.01)
    # delivered later: the handler unregistered right after the first post missed it
    assert host.to_python(host.H.test_seen) == [
        "all:crud/consumers=d1",
        "crud:crud/consumers=d1",
        "all:crud/routes=d2",
        "crud:crud/routes=d2",
        "all:other/x=d3",
    ]


def test_worker_events_without_a_running_loop_are_delivered_at_once(host):
    immediately, done = host.compile(EVENTS)()
    assert (immediately, done) == (3, b"done")
    with pytest.raises(Exception, match="source is required"):  # noqa: PT011
        host.compile_in("t", "kong.worker_events.post(nil, 'e', 1)", "=t")()


def test_cluster_events(host):
    got = run(
        host,
        """
      local ce = kong.cluster_events
      local ok = ce:subscribe("invalidations", function() calls = calls + 1 end)
      return { ok, ce:broadcast("invalidations", "key"), P(ce:broadcast("invalidations", {})), calls }
    """,
    )
    assert got == [True, True, [None, "data must be a string"], 0]
    with pytest.raises(Exception, match="callback must be a function"):  # noqa: PT011
        host.compile_in("t", "kong.cluster_events:subscribe('c', 1)", "=t")()


async def test_a_reloaded_configuration_is_not_served_from_the_cache(
    make_gateway, echo_upstream, http, tmp_path
):
    """A key removed by a reload stops working although db-auth had cached it."""
    config = {
        "_format_version": "3.0",
        "services": [
            {**service(echo_upstream), "routes": [{"paths": ["/"], "plugins": [{"name": "db-auth"}]}]}
        ],
        "consumers": CONFIG["consumers"],
    }
    gw = await make_gateway(config, plugins_dirs=[LUA_PLUGINS, stub_auth_plugins(tmp_path)])
    for expected_hit in ("3", "1"):
        async with http.get(gw.url + "/", headers={"apikey": "bob-key"}) as resp:
            assert (resp.status, resp.headers["X-Cache-Hit-Level"]) == (200, expected_hit)
    without_bob = {**config, "consumers": [c for c in CONFIG["consumers"] if c.get("username") != "bob"]}
    await gw.gateway.apply(load_data(without_bob, gw.gateway.registry, source="reload.yml"))
    async with http.get(gw.url + "/", headers={"apikey": "bob-key"}) as resp:
        assert resp.status == 401
        assert resp.headers["X-Cache-Hit-Level"] == "3"
