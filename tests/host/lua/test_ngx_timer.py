"""ngx.sleep and ngx.timer.*: through real requests (tests/lua_plugins/.../sleepy) and on a host."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from host.lua.driver import drive
from host.lua.runtime import LuaHost
from pdk.phases import Phase
from tests.conftest import service, wait_until
from tests.host.lua.test_ngx_base import in_phase, lua_gateway  # noqa: F401 - fixtures


def _config(upstream: Any, **config: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "sleepy", "config": config}],
    }


async def test_concurrent_requests_sleep_together(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream, seconds=0.2))

    async def one() -> tuple[int, str | None, str | None]:
        async with http.get(gw.url + "/anything") as resp:
            await resp.read()
            return resp.status, resp.headers.get("X-Slept"), resp.headers.get("X-Sleep-Error")

    await one()  # warm up (connections, first-use costs)
    started = time.perf_counter()
    results = await asyncio.gather(*(one() for _ in range(50)))
    elapsed = time.perf_counter() - started
    assert results == [(200, "0.2", "API disabled in the context of header_filter_by_lua*")] * 50
    assert 0.2 <= elapsed < 0.8  # 50 x 0.2 s of sleeping, overlapped


async def test_timer_runs_later_without_the_request(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream, timer_delay=0.05))
    async with http.get(gw.url + "/", headers={"X-Timer": "schedule", "X-Id": "r1"}) as resp:
        assert resp.status == 202
        assert await resp.json() == {"ok": 1, "pending": 1}

    report: dict[str, Any] = {}

    async def fired() -> bool:
        async with http.get(gw.url + "/", headers={"X-Timer": "report", "X-Id": "r1"}) as resp:
            report.clear()
            report.update(await resp.json())
            return resp.status == 200

    deadline = time.monotonic() + 5
    while not await fired():
        assert time.monotonic() < deadline, "the timer did not fire"
        await asyncio.sleep(0.02)
    assert report == {
        "premature": False,
        "phase": "timer",
        "var_err": "no request found",
        "ctx_isolated": True,
        "tag": "t-r1",
    }


async def test_timer_errors_are_logged_with_the_plugin_name(lua_gateway, echo_upstream, http, caplog):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream))
    caplog.set_level(logging.ERROR, logger="moongate.plugin")
    async with http.get(gw.url + "/", headers={"X-Timer": "fail"}) as resp:
        assert resp.status == 202
    await wait_until(lambda: any("timer went wrong" in r.getMessage() for r in caplog.records))
    record = next(r for r in caplog.records if "timer went wrong" in r.getMessage())
    assert record.getMessage().startswith("[sleepy] failed to run timer: ")
    assert "sleepy/handler.lua:" in record.getMessage()


async def test_every_repeats_and_shutdown_runs_pending_timers_prematurely(in_phase):  # noqa: F811
    host = LuaHost()
    in_phase(Phase.access)
    fn = host.compile_in(
        "t",
        """
        seen = { ticks = 0, premature = {} }
        assert(ngx.timer.every(0.02, function(premature)
          if premature then seen.premature[#seen.premature + 1] = "every"
          else seen.ticks = seen.ticks + 1 end
        end))
        assert(ngx.timer.at(100, function(premature, a, b)
          seen.premature[#seen.premature + 1] = tostring(premature) .. a .. b
          seen.exiting = ngx.worker.exiting()
        end, "x", "y"))
        return ngx.timer.pending_count()
        """,
    )
    assert await drive(host, host.H.new_request(), b"t", fn) == (2,)
    seen = host.H.envs[b"t"][b"seen"]
    await asyncio.sleep(0.15)
    assert seen[b"ticks"] >= 3
    await host.close()
    assert sorted(host.to_python(seen[b"premature"])) == ["every", "truexy"]
    assert seen[b"exiting"] is True
    late = host.compile_in("t", "return ngx.timer.at(1, function() end)")
    assert await drive(host, host.H.new_request(), b"t", late) == (None, b"process exiting")
    assert host.state["timers"].pending_count() == 0


async def test_running_count_and_sleep_zero(in_phase):  # noqa: F811
    host = LuaHost()
    in_phase(Phase.access)
    fn = host.compile_in(
        "t",
        """
        ngx.timer.at(0, function() ngx.sleep(0.05) end)
        ngx.sleep(0)
        ngx.sleep(0.01)
        return ngx.timer.running_count(), ngx.timer.pending_count()
        """,
    )
    assert await drive(host, host.H.new_request(), b"t", fn) == (1, 0)
    await host.close()


def test_argument_errors():
    host = LuaHost()
    fn = host.compile_in(
        "t",
        """
        local function err(f, ...) local ok, e = pcall(f, ...) return e end
        return err(ngx.timer.every, 0, function() end),
               err(ngx.timer.at, 1, "not a function"),
               err(ngx.timer.at, "soon", function() end),
               err(ngx.sleep, -1),
               err(ngx.sleep, "1")
        """,
    )
    assert fn() == (
        b"delay cannot be zero",
        b"bad argument #2 to 'at' (Lua function expected)",
        b"bad argument #1 to 'at' (number expected, got string)",
        b'invalid sleep duration "-1000"',
        b"bad argument #1 to 'sleep' (number expected, got string)",
    )
