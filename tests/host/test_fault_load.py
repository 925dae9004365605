"""Faults under steady load: failing plugins on some routes must not hurt the others.

A gateway runs as ``moongate start`` in its own process (as in production: the load
generator and the echo upstream live in this test's process, on 127.0.0.1).  The
``/good`` route has normal plugins (Python and Lua).  Three bad routes each run a
plugin that fails on every call: a Lua plugin that raises, a Python async plugin that
awaits forever (cut at ``plugin_phase_timeout``), and a Python plugin that holds a
1 MiB buffer then asks for a petabyte (a real ``MemoryError``).  Circuit breakers are
off, so every bad request really runs its plugin: the worst case for the gateway.

What this measures is the cost of *handling* failures (the error path, the log line
with its traceback, the counters, the cancelled waits).  A plugin's own synchronous
CPU time is another matter: Python code cannot be preempted inside the worker, so a
plugin that spends 11 ms zeroing a 16 MiB buffer on every call delays every request of
the worker by up to that much (measured: p99 of ``/good`` 6-9 ms -> 50-74 ms at 40 such
calls a second).  The circuit breaker (on by default) takes such a plugin out after
its fifth violation in 10 s; Lua plugins get the sandbox's CPU and memory budgets.

Open-loop load (Poisson arrivals at a fixed mean rate, whether earlier requests finished
or not), in alternating rounds: ``/good`` alone, then ``/good`` at the same rate plus the
bad routes (alternating, so that whatever else the machine does weighs on both sides).  The test asserts that ``/good`` stays 100 % successful with a p99 latency at
most twice its p99 without the bad routes, that every bad request got the generic 500,
and that ``kong_plugin_errors_total`` counted each one under its reason.  ``pytest -s``
prints the numbers.

How the p99s are compared, so that the machine's noise does not decide the outcome (CI
runs this on 2 busy cores): one stall of the machine (another process, the kernel)
delays every request that arrives during it, so a 250 ms stall in one round is enough
to move the p99 of a whole 4-second measurement.  Each pair of rounds (``/good`` alone,
then with the faults, back to back) is therefore compared on its own, and the test
asserts the *median* of the pairs' p99 ratios: a gateway whose faults slow ``/good``
down does so in every pair, a stall spoils one pair.  Below :data:`FLOOR` (10 ms) a p99
counts as :data:`FLOOR`: the gateway's p50 is 1-2 ms, and under 10 ms the tail is the
scheduler's noise on a shared VM, not a slowdown anyone sees.  The pooled p99s are
printed too.
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import aiohttp
import yaml

from tests.conftest import TEST_PLUGINS, free_port
from tests.host.plugins._faults import FAULT_PLUGINS, GENERIC_500, SECRET, errors_counted, metric_samples

REPO = Path(__file__).resolve().parents[2]
LUA_PLUGINS = REPO / "tests" / "lua_plugins"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "MOONGATE_"))}
WARMUP, ROUNDS, ROUND = 0.5, 11, 0.6  # seconds, rounds of each kind, seconds
#: p99s below this count as this (seconds): on a busy 2-core VM a wake-up can wait for
#: other processes' time slices (a few ms each, sometimes several in a row)
FLOOR = 0.010
GOOD_RATE, BAD_RATE = 300, 50  # requests per second (each bad route)
#: bad route -> (plugin, reason it is counted under)
#: the niceness of the gateway and of this process while measuring (lower runs first)
PRIORITY = -10
BAD = {
    "/bad-raise": ("lua-fault", "error"),
    "/bad-hang": ("fault-hang", "timeout"),
    "/bad-memory": ("fault-hog", "memory"),
}


def _raise_priority() -> None:
    """Run ahead of the machine's other processes when allowed (root): the test measures
    the gateway, not its neighbours.  Without the right, the niceness stays as it is."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)
    except OSError:
        pass


def _config(upstream_url: str) -> dict:
    def route(path: str, *plugins: dict) -> dict:
        return {"name": path.strip("/"), "paths": [path], "plugins": list(plugins)}

    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "echo",
                "url": upstream_url,
                "routes": [
                    route("/good", {"name": "tagger", "config": {"tag": "good"}}, {"name": "header-echo"}),
                    route("/bad-raise", {"name": "lua-fault"}),
                    route("/bad-hang", {"name": "fault-hang"}),
                    route("/bad-memory", {"name": "fault-hog", "config": {"mb": 1}}),
                ],
            }
        ],
    }


async def _start_gateway(tmp_path: Path, upstream_url: str, http: aiohttp.ClientSession):
    config_file = tmp_path / "kong.yml"
    config_file.write_text(yaml.safe_dump(_config(upstream_url)))
    proxy, status = free_port(), free_port()
    env = {**ENV, "MOONGATE_PLUGIN_BREAKER_THRESHOLD": "0", "MOONGATE_PLUGIN_PHASE_TIMEOUT": "250"}
    dirs = [arg for d in (TEST_PLUGINS, LUA_PLUGINS, FAULT_PLUGINS) for arg in ("--plugins-dir", str(d))]
    with (tmp_path / "gateway.log").open("w") as err:
        proc = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "host.cli", "start", "--workers", "1", "-c", str(config_file)],
            *["--proxy-listen", f"127.0.0.1:{proxy}", "--status-listen", f"127.0.0.1:{status}", *dirs],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=_raise_priority,
        )
    status_url = f"http://127.0.0.1:{status}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while loop.time() < deadline:
        assert proc.returncode is None, (tmp_path / "gateway.log").read_text()
        try:
            async with http.get(status_url + "/status/ready") as resp:
                if resp.status == 200:
                    return proc, proxy, status_url
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    raise AssertionError("gateway not ready:\n" + (tmp_path / "gateway.log").read_text())


class LeanUpstream(asyncio.Protocol):
    """The upstream: a fixed small JSON answer per request, keep-alive (cheap, so that the
    load generator's process leaves the CPU to the gateway)."""

    ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:  # GETs without a body
            _, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            self.transport.write(self.ANSWER)  # type: ignore[attr-defined]


class Load:
    """Open-loop GETs to one path at a fixed rate over keep-alive connections (a lean client:
    aiohttp's costs more CPU than the gateway); keeps (status, latency, head, body) of each."""

    def __init__(self, port: int, path: str, rate: float) -> None:
        self.port = port
        self.request = f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()
        self.rate = rate
        self.random = random.Random(path)  # the same arrivals on every run
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.results: list[tuple[int, float, bytes, bytes]] = []
        #: where each run (round) starts in ``results``
        self.starts: list[int] = []

    async def _one(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        conn = self.idle.pop() if self.idle else await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = conn
        try:
            writer.write(self.request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            status = int(head.split(b" ", 2)[1])
            self.idle.append(conn)
        except (OSError, asyncio.IncompleteReadError, StopIteration) as exc:
            status, head, body = 0, b"", repr(exc).encode()
            writer.close()
        self.results.append((status, loop.time() - t0, head, body))

    async def run(self, seconds: float) -> None:
        """Poisson arrivals at ``rate`` for ``seconds`` (independent routes do not arrive
        in lockstep), then wait for the last answer."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        end = due + seconds
        tasks = []
        self.starts.append(len(self.results))
        while True:
            due += self.random.expovariate(self.rate)
            if due >= end:
                break
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._one()))
        await asyncio.gather(*tasks)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()

    def p(self, quantile: float, run: int | None = None) -> float:
        """A latency quantile over every run, or over run number ``run``."""
        results = self.results
        if run is not None:
            ends = [*self.starts[1:], len(results)]
            results = results[self.starts[run] : ends[run]]
        latencies = sorted(result[1] for result in results)
        return latencies[max(0, math.ceil(quantile * len(latencies)) - 1)]

    def rounds(self) -> int:
        return len(self.starts)

    def success(self) -> float:
        return sum(result[0] == 200 for result in self.results) / len(self.results)


async def _measure(port: int) -> tuple[Load, Load, dict[str, Load]]:
    """Alternating rounds: ``/good`` alone, then ``/good`` with the bad routes."""
    baseline = Load(port, "/good", GOOD_RATE)
    loaded = Load(port, "/good", GOOD_RATE)
    bad = {path: Load(port, path, BAD_RATE) for path in BAD}
    gc.collect()
    gc.disable()  # as timeit does: this process's collector pauses are not the gateway's
    try:
        for _ in range(ROUNDS):  # each round ends when its last request is answered
            await baseline.run(ROUND)
            await asyncio.gather(loaded.run(ROUND), *(load.run(ROUND) for load in bad.values()))
    finally:
        gc.enable()
        for load in (baseline, loaded, *bad.values()):
            load.close()
    return baseline, loaded, bad


def p99_ratio(baseline: Load, loaded: Load) -> float:
    """The median over the pairs of rounds of loaded p99 / baseline p99 (each at least
    :data:`FLOOR`): see the module docstring."""
    ratios = sorted(
        max(loaded.p(0.99, i), FLOOR) / max(baseline.p(0.99, i), FLOOR) for i in range(baseline.rounds())
    )
    return ratios[len(ratios) // 2]


def _report(baseline: Load, loaded: Load, bad: dict[str, Load]) -> float:
    ratio = p99_ratio(baseline, loaded)
    pairs = ", ".join(
        f"{baseline.p(0.99, i) * 1000:.1f}/{loaded.p(0.99, i) * 1000:.1f}" for i in range(baseline.rounds())
    )
    print(
        f"\n/good alone:         {len(baseline.results)} requests, {baseline.success():.1%} ok, "
        f"p50 {baseline.p(0.5) * 1000:.2f} ms, p99 {baseline.p(0.99) * 1000:.2f} ms"
        f"\n/good with faults:   {len(loaded.results)} requests, {loaded.success():.1%} ok, "
        f"p50 {loaded.p(0.5) * 1000:.2f} ms, p99 {loaded.p(0.99) * 1000:.2f} ms"
        f"\np99 per pair (ms):   {pairs}"
        f"\np99 ratio:           {ratio:.2f} (median of the pairs; limit 2)"
    )
    for path, load in bad.items():
        statuses = sorted({result[0] for result in load.results})
        print(
            f"{path + ':':<20} {len(load.results)} requests, statuses {statuses}, p50 {load.p(0.5) * 1000:.1f} ms"
        )
    return ratio


async def test_failing_plugins_do_not_hurt_other_routes(tmp_path):
    loop = asyncio.get_running_loop()
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    _raise_priority()
    upstream = await loop.create_server(LeanUpstream, "127.0.0.1", 0)
    upstream_url = f"http://127.0.0.1:{upstream.sockets[0].getsockname()[1]}"
    attempts: list[tuple[Load, Load, dict[str, Load]]] = []
    async with aiohttp.ClientSession() as http:
        proc, port, status_url = await _start_gateway(tmp_path, upstream_url, http)
        try:
            await Load(port, "/good", GOOD_RATE).run(WARMUP)
            # a second measurement only when the first is over the limit: one burst of
            # activity elsewhere on the machine may spoil one, a slow gateway spoils both
            while len(attempts) < 2:
                attempts.append(await _measure(port))
                if _report(*attempts[-1]) <= 2.0:
                    break
            samples = await metric_samples(http, status_url)
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)
            upstream.close()
            os.setpriority(os.PRIO_PROCESS, 0, niceness)  # back to where it was (always allowed)

    for baseline, loaded, _ in attempts:
        assert baseline.success() == 1.0
        assert loaded.success() == 1.0
        assert all(b"X-Tag: good" in head for _, _, head, _ in loaded.results)  # the plugins ran
    assert min(p99_ratio(baseline, loaded) for baseline, loaded, _ in attempts) <= 2.0
    for path, (plugin, reason) in BAD.items():
        results = [result for *_, bad in attempts for result in bad[path].results]
        assert {status for status, _, _, _ in results} == {500}, path
        assert all(GENERIC_500.encode() in body and SECRET not in body for *_, body in results), path
        assert errors_counted(samples, plugin, "access", reason) == len(results), path
        if path == "/bad-hang":
            assert max(latency for _, latency, _, _ in results) < 1.0  # cut at 250 ms
