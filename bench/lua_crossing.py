"""What a Lua plugin costs, piece by piece: ``python -m bench.lua_crossing``.

Measured in-process on one core (best of several runs, µs per operation):

* a Python→Lua call of an empty function, and a Lua→Python callback;
* a PDK call from Lua (``kong.request.get_header``), which is one crossing;
* one handler call through the driver (pooled coroutine) and as the phase runner
  makes it (synchronous when the handler does no I/O);
* the benchmark plugin's access handler (one get_header + one set_header), and its
  Python twin called the way the phase runner calls it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from host.context import Context, use_context
from host.lua.driver import drive
from host.lua.loader import load_lua_plugin
from host.lua.runtime import LuaHost
from pdk import kong
from pdk.phases import Phase

ROOT = Path(__file__).resolve().parent
N = 20000


def best(fn: Callable[[], Any], n: int = N, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n * 1e6)
    return min(times)


async def abest(fn: Callable[[], Any], n: int = N, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(n):
            await fn()
        times.append((time.perf_counter() - t0) / n * 1e6)
    return min(times)


async def main() -> None:
    host = LuaHost()
    ctx = Context()
    ctx.headers = CIMultiDictProxy(CIMultiDict({"User-Agent": "bench"}))
    ctx.phase = int(Phase.access)
    use_context(ctx)
    rows: list[tuple[str, float]] = []

    noop = host.compile("return function() end")()
    rows.append(("Python -> Lua call (empty function)", best(noop)))
    host.H.pyfn = lambda: None
    loop = host.compile("local f = H.pyfn return function(n) for i = 1, n do f() end end")()
    rows.append(("Lua -> Python callback", best(lambda: loop(100), N // 100) / 100))
    get_header = host.compile_in(
        "bench", "return function(n) for i = 1, n do kong.request.get_header('user-agent') end end"
    )()
    rows.append(
        ("kong.request.get_header from Lua (one crossing)", best(lambda: get_header(100), N // 100) / 100)
    )
    set_header = host.compile_in(
        "bench", "return function(n) for i = 1, n do kong.response.set_header('x-a', 'b') end end"
    )()
    rows.append(("kong.response.set_header from Lua", best(lambda: set_header(100), N // 100) / 100))

    empty = host.compile_in("bench", "return { access = function() end }")()
    state = False
    phase_call = host.H.phase_call
    rows.append(
        (
            "handler call through the driver (empty)",
            await abest(lambda: drive(host, state, b"bench", phase_call, empty, b"access", None)),
        )
    )

    spec = load_lua_plugin(host, "bench-lua-1", ROOT / "lua_plugins" / "bench-lua-1")
    handler = spec.handlers["access"]
    conf = {"unused": None}
    rows.append(("bench-lua-1 access handler (get_header + set_header)", best(lambda: handler(kong, conf))))

    from bench.plugins import bench_header_echo

    rows.append(
        ("its Python twin (bench_header_echo.access)", best(lambda: bench_header_echo.access(kong, conf)))
    )

    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  µs/op")
    for name, value in rows:
        print(f"{name:<{width}}  {value:6.2f}")


if __name__ == "__main__":
    asyncio.run(main())
