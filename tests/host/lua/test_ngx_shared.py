"""ngx.shared.DICT for Lua plugins: OpenResty's shared-dict API, per worker, in pure Lua."""

from __future__ import annotations

import time
from typing import Any

import pytest

from host.lua.modules import moongate_ngx_shared
from host.lua.runtime import LuaHost


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> LuaHost:
    monkeypatch.setitem(moongate_ngx_shared.DEFAULT_SIZES, "tiny", 1024)
    return LuaHost()


PRELUDE = """
local function P(...)   -- all results of a call, nil as "<nil>" (None in Python)
  local t = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v == nil then v = "<nil>" end
    t[i] = v
  end
  return t
end
"""


def _nils(value: Any) -> Any:
    if isinstance(value, list):
        return [_nils(v) for v in value]
    return None if value == "<nil>" else value


def run(host: LuaHost, src: str) -> list:
    """Run plugin code returning a table; the table as Python data."""
    return _nils(host.to_python(host.compile_in("t", PRELUDE + src, "=t")()))


def test_set_get_and_flags(host):
    got = run(
        host,
        """
      local d = ngx.shared.kong
      local ok, err, forcible = d:set("a", "x")
      local r = { ok, err == nil, forcible }
      d:set("n", 1.5)
      d:set("b", false)
      d:set("f", "v", 0, 7)
      local v, flags = d:get("f")
      local v2, flags2 = d:get("a")
      return { r, d:get("n"), d:get("b"), v, flags, v2, flags2 == nil, d:get("missing") == nil }
    """,
    )
    assert got == [[True, True, False], 1.5, False, "v", 7, "x", True, True]


def test_keys_are_checked_and_numbers_become_strings(host):
    got = run(
        host,
        """
      local d = ngx.shared.kong
      d:set(12, "twelve")
      local _, e1 = d:get(nil)
      local _, e2 = d:set("", 1)
      local _, e3 = d:get(string.rep("k", 65536))
      return { d:get("12"), e1, e2, e3 }
    """,
    )
    assert got == ["twelve", "nil key", "empty key", "key too long"]


def test_tables_and_functions_are_rejected(host):
    got = run(
        host,
        """
      local d = ngx.shared.kong
      local ok1, e1 = d:set("t", {})
      local ok2, e2 = d:set("f", print)
      return { ok1 == nil, e1, ok2 == nil, e2, d:get("t") == nil }
    """,
    )
    assert got == [True, "bad value type", True, "bad value type", True]


def test_add_replace_delete(host):
    got = run(
        host,
        """
      local d = ngx.shared.kong
      local r = {}
      r[1] = P(d:add("k", 1))
      r[2] = P(d:add("k", 2))
      r[3] = P(d:replace("nope", 1))
      r[4] = P(d:replace("k", 3))
      r[5] = d:get("k")
      r[6] = P(d:safe_add("k", 4))
      d:delete("k")
      r[7] = d:get("k") == nil
      r[8] = P(d:safe_add("k", 5))
      return r
    """,
    )
    assert got == [
        [True, None, False],
        [False, "exists", False],
        [False, "not found", False],
        [True, None, False],
        3,
        [False, "exists", False],
        True,
        [True, None, False],
    ]


def test_incr(host):
    got = run(
        host,
        """
      local d = ngx.shared.kong
      local r = {}
      r[1] = P(d:incr("c", 1))
      r[2] = P(d:incr("c", 1, 10))
      r[3] = P(d:incr("c", 5))
      d:set("s", "text")
      r[4] = P(d:incr("s", 1))
      r[5] = P(d:incr("c", "2"))
      r[6] = P(pcall(d.incr, d, "c", 1, 0, -1))
      return r
    """,
    )
    assert got[0] == [None, "not found"]
    assert got[1] == [11, None, False]
    assert got[2] == [16]
    assert got[3] == [None, "not a number"]
    assert got[4] == [18]
    assert got[5][0] is False and 'bad "init_ttl" argument' in got[5][1]


def test_expiry_ttl_expire_and_get_stale(host):
    fn = host.compile_in(
        "t",
        """
      local step = ...
      local d = ngx.shared.kong
      if step == 1 then
        d:set("short", "v", 0.05)
        d:set("forever", "v")
        d:incr("counter", 1, 0, 0.05)
        local ttl = d:ttl("short")
        return { ttl > 0 and ttl <= 0.05, d:ttl("forever"), d:get("short") }
      end
      local v, flags, stale = d:get_stale("short")
      local _, err = d:ttl("short")
      local ok, err2 = d:expire("short", 10)
      d:expire("forever", 0.05)
      return { d:get("short") == nil, v, stale, err, ok == nil, err2, d:get("counter") == nil,
               d:get("forever") }
    """,
        "=t",
    )
    assert host.to_python(fn(1)) == [True, 0, "v"]
    time.sleep(0.08)
    assert host.to_python(fn(2)) == [True, "v", True, "not found", True, "not found", True, "v"]
    time.sleep(0.08)
    assert host.to_python(host.compile_in("t", "return { ngx.shared.kong:get('forever') == nil }")()) == [
        True
    ]


def test_flush_all_flush_expired_and_get_keys(host):
    got = run(
        host,
        """
      local d = ngx.shared.kong
      for i = 1, 5 do d:set("k" .. i, i) end
      local keys = d:get_keys()
      local two = d:get_keys(2)
      d:flush_all()
      local after = d:get_keys(0)
      local v, _, stale = d:get_stale("k1")
      local n = d:flush_expired()
      local v2 = d:get_stale("k1")
      return { #keys, #two, #after, v, stale, n, v2 == nil }
    """,
    )
    assert got == [5, 2, 0, 1, True, 5, True]


def test_lists(host):
    got = run(
        host,
        """
      local d = ngx.shared.kong
      local r = {}
      r[1] = d:lpush("l", "b")
      r[2] = d:lpush("l", "a")
      r[3] = d:rpush("l", 3)
      r[4] = d:llen("l")
      r[5] = P(d:lpop("l"), d:rpop("l"), d:rpop("l"))
      r[6] = d:llen("l")
      r[7] = { d:lpop("l") == nil }
      d:set("s", "x")
      r[8] = P(d:lpush("s", "y"))
      r[9] = P(d:lpush("l", {}))
      d:rpush("l2", "x")
      r[10] = P(d:get("l2"))
      return r
    """,
    )
    assert got == [
        1, 2, 3, 3, ["a", 3, "b"], 0, [True],
        [None, "value not a list"], [None, "bad value type"], [None, "value is a list"],
    ]  # fmt: skip


def test_capacity_eviction_and_safe_set(host):
    got = run(
        host,
        """
      local d = ngx.shared.tiny
      local r = P(d:capacity())
      local big = string.rep("x", 300)
      d:set("a", big)
      d:set("b", big)
      d:get("a")                    -- a is now more recent than b
      local ok, err, forcible = d:set("c", big)
      r[2] = { ok, forcible, d:get("b") == nil, d:get("a") == big, d:get("c") == big }
      r[3] = P(d:safe_set("d", big))
      r[4] = P(d:set("huge", string.rep("y", 2000)))
      r[5] = d:free_space() == d:capacity()  -- everything was evicted trying to make room
      return r
    """,
    )
    assert got[0] == 1024
    assert got[1] == [True, True, True, True, True]
    assert got[2] == [False, "no memory", False]
    assert got[3][:2] == [False, "no memory"]
    assert got[4] is True


def test_dictionaries_by_name(host):
    got = run(
        host,
        """
      local names = {}
      for _, name in ipairs({ "kong", "kong_locks", "kong_db_cache", "kong_rate_limiting_counters",
                              "prometheus_metrics" }) do
        names[#names + 1] = ngx.shared[name] ~= nil
      end
      local mine = ngx.shared.my_plugin_dict
      mine:set("k", "v")
      return { names, ngx.shared.my_plugin_dict:get("k"), ngx.shared.kong_db_cache:capacity(),
               ngx.shared.kong:get("k") == nil }
    """,
    )
    assert got == [[True] * 5, "v", 128 * 1024 * 1024, True]


def test_misuse_raises_like_openresty(host):
    fn = host.compile_in(
        "t",
        """
      local d = ngx.shared.kong
      local which = ...
      if which == 1 then return d.get("k") end
      if which == 2 then return d:set("k", 1, -1) end
      if which == 3 then ngx.shared.kong.get = function() end end
      if which == 4 then return d:expire("k") end
    """,
        "=t",
    )
    messages = []
    for which in (1, 2, 3, 4):
        with pytest.raises(Exception) as exc:  # noqa: PT011 - lupa's LuaError
            fn(which)
        messages.append(str(exc.value))
    assert 'bad "zone" argument' in messages[0]
    assert 'bad "exptime" argument' in messages[1]
    assert "cannot be modified" in messages[2]
    assert 'bad "exptime" argument' in messages[3]


def test_values_are_per_runtime():
    first, second = LuaHost(), LuaHost()
    first.compile_in("t", "ngx.shared.kong:set('k', 'first')")()
    assert second.compile_in("t", "return ngx.shared.kong:get('k')")() is None
