"""``kong.tools.queue``: batching, coalescing, retries and capacity on a host, and the
whole path through a real gateway (tests/lua_plugins/kong/plugins/queue-log) posting
batches to a real HTTP endpoint."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from host.lua.driver import drive
from host.lua.runtime import LuaHost
from tests.conftest import service, wait_until
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture

QUEUE = """
  local Queue = require "kong.tools.queue"
  calls = calls or {}
  function conf(fields)
    local c = { name = "q", max_batch_size = 1, max_coalescing_delay = 1, max_entries = 10000,
                max_retry_time = 60, initial_retry_delay = 0.01, max_retry_delay = 60, concurrency_limit = 1 }
    for k, v in pairs(fields or {}) do c[k] = v end
    return c
  end
  function recorder(results)
    return function(hconf, entries)
      calls[#calls + 1] = { t = ngx.now(), entries = table.concat(entries, ","), tag = hconf and hconf.tag }
      local r = table.remove(results or {}, 1)
      if r == nil then return true end
      if r == "raise" then error("handler blew up") end
      return r, "attempt " .. #calls .. " failed"
    end
  end
"""


@pytest.fixture
def host() -> LuaHost:
    return LuaHost()


async def run(host: LuaHost, src: str) -> Any:
    return await drive(host, False, b"queue-test", host.compile_in("queue-test", QUEUE + src))


def calls(host: LuaHost) -> list[dict[str, Any]]:
    return host.to_python(host.H.envs[b"queue-test"][b"calls"]) or []


async def test_batches_of_max_batch_size_and_the_last_one_after_the_delay(host):
    started = time.monotonic()
    got = await run(host, """
        local handler = recorder()
        for i = 1, 7 do assert(Queue.enqueue(conf({ max_batch_size = 3, max_coalescing_delay = 0.3 }),
                                             handler, { tag = "t" }, tostring(i))) end
        return Queue.exists("q"), Queue._exists("q")
    """)
    assert got == (True, True)
    await wait_until(lambda: len(calls(host)) == 3)
    assert [c["entries"] for c in calls(host)] == ["1,2,3", "4,5,6", "7"]
    assert calls(host)[2]["t"] - calls(host)[1]["t"] >= 0.25  # "7" waited for company
    await wait_until(lambda: not host.compile_in("queue-test", "return require('kong.tools.queue').exists('q')")())
    assert time.monotonic() - started < 2
    await host.close()


async def test_a_waiting_batch_is_sent_as_soon_as_it_is_full(host):
    await run(host, """
        handler = recorder()
        c = conf({ max_batch_size = 3, max_coalescing_delay = 10 })
        assert(Queue.enqueue(c, handler, nil, "a"))
    """)
    await asyncio.sleep(0.1)
    assert calls(host) == []
    await run(host, 'assert(Queue.enqueue(c, handler, nil, "b")) assert(Queue.enqueue(c, handler, nil, "c"))')
    await wait_until(lambda: len(calls(host)) == 1, timeout=1.0)
    assert calls(host)[0]["entries"] == "a,b,c"
    await host.close()


async def test_failed_batches_are_retried_with_backoff_then_dropped(host, caplog):
    caplog.set_level(logging.INFO, logger="moongate")
    await run(host, """
        local handler = recorder({ false, "raise", false })
        assert(Queue.enqueue(conf({ initial_retry_delay = 0.05, max_retry_delay = 0.1, max_retry_time = 0.12 }),
                             handler, nil, "x"))
    """)
    await wait_until(lambda: not host.compile_in("queue-test", "return require('kong.tools.queue').exists('q')")())
    times = [c["t"] for c in calls(host)]
    assert [c["entries"] for c in calls(host)] == ["x", "x", "x", "x"][: len(times)]
    assert len(times) == 3  # 0, +0.05, +0.1 (capped): then 0.15 s > max_retry_time
    assert 0.04 <= times[1] - times[0] < 0.09 and 0.09 <= times[2] - times[1] < 0.15
    messages = [r.getMessage() for r in caplog.records]
    assert any("queue q: handler could not process entries: attempt 1 failed" in m for m in messages)
    assert any("handler blew up" in m for m in messages)
    assert any("queue q: could not send entries due to max_retry_time exceeded. 1 queue entries were lost" in m
               for m in messages)
    await host.close()


async def test_full_queues_drop_the_oldest_entries(host, caplog):
    caplog.set_level(logging.INFO, logger="moongate")
    got = await run(host, """
        local slow = function(_, entries)
          calls[#calls + 1] = { entries = table.concat(entries, ",") }
          ngx.sleep(0.2)
          return true
        end
        local c = conf({ max_entries = 2, max_bytes = 4 })
        assert(Queue.enqueue(c, slow, nil, "a"))   -- taken at once by the timer
        ngx.sleep(0.05)
        assert(Queue.enqueue(c, slow, nil, "bb"))
        assert(Queue.enqueue(c, slow, nil, "cc"))
        local full, room = Queue.is_full(c), Queue.can_enqueue(c, "d")
        assert(Queue.enqueue(c, slow, nil, "dd"))  -- drops "bb"
        -- as in Kong, a full queue drops its oldest entry ("cc") before the size check
        local ok, err = Queue.enqueue(c, slow, nil, "eeeee")
        return full, room, ok, err, Queue.can_enqueue({ name = "other" }, "x")
    """)
    assert got == (True, False, None,
                   b"string to be queued is longer (5 bytes) than the queue's max_bytes (4 bytes)", True)
    await wait_until(lambda: len(calls(host)) == 2)
    assert [c["entries"] for c in calls(host)] == ["a", "dd"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("queue q: queue full, dropping old entries until processing is successful again" in m
               for m in messages)
    assert any("queue q: queue resumed processing" in m for m in messages)
    await host.close()


async def test_unlimited_concurrency_sends_each_entry_on_its_own(host):
    await run(host, """
        local handler = recorder()
        for i = 1, 3 do assert(Queue.enqueue(conf({ concurrency_limit = -1, max_batch_size = 10 }),
                                             handler, nil, tostring(i))) end
        assert(not Queue.exists("q"))
    """)
    await wait_until(lambda: len(calls(host)) == 3)
    assert sorted(c["entries"] for c in calls(host)) == ["1", "2", "3"]
    await host.close()


async def test_enqueue_checks_its_arguments(host):
    got = await run(host, """
        local function err(...) return select(2, pcall(Queue.enqueue, ...)) end
        local bad = conf()
        bad.max_entries = "10"
        return err(conf(), "not a function"), err(bad, recorder()), select(2, Queue.enqueue(conf(), recorder(), nil, nil))
    """)
    assert b"arg #2 (handler) must be a function" in got[0]
    assert b"arg #1 (queue_conf) max_entries must be a number" in got[1]
    assert got[2] == b"entry must be a non-nil Lua value"


# -- through a gateway --------------------------------------------------------------------------


class Collector:
    """An HTTP endpoint that records the JSON batches posted to it (and can fail first)."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.failures = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        if self.failures:
            self.failures -= 1
            return web.Response(status=500)
        self.batches.append(await request.json())
        return web.Response(text="ok")


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    c = Collector()
    app = web.Application()
    app.router.add_post("/logs", c.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    c.url = f"http://127.0.0.1:{runner.addresses[0][1]}/logs"
    yield c
    await runner.cleanup()


async def test_log_batches_reach_the_endpoint(lua_gateway, echo_upstream, http, collector):  # noqa: F811
    collector.failures = 1
    gw = await lua_gateway({
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "queue-log", "config": {
            "endpoint": collector.url, "queue": {"max_batch_size": 3, "max_coalescing_delay": 0.5,
                                                 "initial_retry_delay": 0.02}}}],
    })

    async def get(path: str) -> int:
        async with http.get(gw.url + path) as resp:
            await resp.read()
            return resp.status

    assert await asyncio.gather(get("/a"), get("/b"), get("/c")) == [200, 200, 200]
    await wait_until(lambda: len(collector.batches) == 1)
    batch = collector.batches[0]
    assert sorted(e["path"] for e in batch) == ["/a", "/b", "/c"]
    plugin_id = batch[0]["queue"]  # no queue.name: the queue is named after the plugin's id
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", plugin_id)
    assert batch[0]["tag"] == f"queue-log plugin {plugin_id}" and batch[0]["batch_size"] == 3
    assert await get("/d") == 200
    await wait_until(lambda: len(collector.batches) == 2)
    assert [e["path"] for e in collector.batches[1]] == ["/d"]


async def test_legacy_queue_size_and_queue_name(lua_gateway, echo_upstream, http, collector, caplog):  # noqa: F811
    caplog.set_level(logging.WARNING, logger="moongate")
    gw = await lua_gateway({
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "queue-log", "config": {
            "endpoint": collector.url, "queue_name": "shared", "queue_size": 2,
            "queue": {"max_coalescing_delay": 5}}}],
    })
    for path in ("/x", "/y"):
        async with http.get(gw.url + path) as resp:
            assert resp.status == 200
    await wait_until(lambda: len(collector.batches) == 1, timeout=2.0)
    assert [(e["path"], e["queue"], e["batch_size"]) for e in collector.batches[0]] == [
        ("/x", "shared", 2), ("/y", "shared", 2)]
    assert any("the queue_size parameter is deprecated, please update your configuration to use "
               "queue.max_batch_size instead" in r.getMessage() for r in caplog.records)
