"""``moongate start --workers 2`` against one worker: the row of ``bench/run.py`` and a
scaling measurement of its own (``python -m bench.rows_workers``).

The row (``moongate-workers-2``): ``bench/run.py`` pins every gateway to core 0 (wrk and
the upstream to core 1) and counts the CPU time of the supervisor and its workers.  Both
workers then share core 0 (``taskset`` affinity is inherited across ``fork``): the row
shows what a second worker *costs* (CPU per request, two event loops taking turns), not
scaling.

The scaling measurement (``main`` below) is the honest figure a two-core machine can
give.  A gateway that can use both cores competes with wrk and the upstream for them, so
the layouts are, each measured with the same wrk load:

* ``pinned-1`` / ``pinned-2``: the gateway on core 0, load on core 1 (``run.py``'s layout);
* ``shared-1`` / ``shared-2``: nothing pinned, gateway, wrk and upstream share both cores;
* ``split-2``: one worker pinned on each core, wrk and the upstream on core 1 too.

For each: requests/s, CPU µs per request of the gateway (all its processes), its
requests per CPU-second, and the CPU the load itself (wrk + upstream) spends per request.
The **ceiling** of the ``shared-2 / shared-1`` ratio follows from those costs: with ``G``
the gateway's and ``L`` the load's CPU µs per request, one worker can use at most one
core (``min(1e6/G, 2e6/(G+L))`` requests/s) and two workers share two cores with the
load (``2e6/(G+L)``); the measured ratio over that ceiling says how much of the possible
scaling the workers reach.  On a machine with more cores than workers + load, the
ceiling is ``2`` and the measured ratio is the usual scaling figure.  See
``sdk-docs/operations.md`` ("Workers and cores").

    python -m bench.rows_workers [--seconds 4] [--rounds 3] [--connections 50]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.rowspec import RowSpec

__all__ = ["ROWS", "main"]

#: the supervisor's prefix (pid file, worker status, Prometheus files), away from the repo's
PREFIX = Path(tempfile.gettempdir()) / "moongate-bench-workers"


def no_plugins(up_port: int, **_: Any) -> dict[str, Any]:
    """The "moongate" row's config: one service, one route, no plugins."""
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bench",
                "url": f"http://127.0.0.1:{up_port}",
                "routes": [{"name": "bench", "paths": ["/"]}],
            }
        ],
    }


ROWS = [
    RowSpec(
        "moongate-workers-2",
        "moongate --workers 2",
        no_plugins,
        args=["--workers", "2", "--prefix", str(PREFIX)],
    ),
]

#: layout name -> (workers, the gateway's cores, each worker's core or None, the load's cores)
LAYOUTS: dict[str, tuple[int, str, list[int] | None, str]] = {
    "pinned-1": (1, "0", None, "1"),
    "pinned-2": (2, "0", None, "1"),
    "shared-1": (1, "0,1", None, "0,1"),
    "shared-2": (2, "0,1", None, "0,1"),
    "split-2": (2, "0,1", [0, 1], "1"),
}


@dataclass
class Result:
    layout: str
    rps: float
    gateway_us: float  # gateway CPU µs per request (supervisor + workers)
    load_us: float  # wrk + upstream CPU µs per request
    errors: int


def _wrk(url: str, seconds: int, connections: int, cores: str) -> tuple[int, float, int, float]:
    """Run wrk; (requests, requests/s, errors, wrk's own CPU seconds from its rusage)."""
    cmd = ["taskset", "-c", cores, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(
        int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|connect|read|write|timeout):? (\d+)", out)
    )
    return requests, rps, errors, usage.ru_utime + usage.ru_stime


@dataclass
class Running:
    """A gateway started for one layout: its URL, its pids, the load's cores."""

    layout: str
    url: str
    pids: list[int]
    load_cores: str


def _start(layout: str, config: Path, tmp: Path, procs: Any) -> Running:
    from bench.run import ROOT, children, free_port, wait_port

    workers, gateway_cores, per_worker, load_cores = LAYOUTS[layout]
    port = free_port()
    cmd = [
        sys.executable, "-m", "host.cli", "start", "-c", str(config),
        "--proxy-listen", f"127.0.0.1:{port}", "--status-listen", "off", "--admin-listen", "off",
        "-p", str(tmp / f"{layout}-prefix"), "--log-level", "error", "--workers", str(workers),
    ]  # fmt: skip
    gateway = procs.start(cmd, gateway_cores, cwd=str(ROOT))
    wait_port(port)
    deadline = time.monotonic() + 20
    while workers > 1 and len(children(gateway.pid)) < workers and time.monotonic() < deadline:
        time.sleep(0.05)
    if per_worker is not None:
        for pid, core in zip(children(gateway.pid), per_worker, strict=False):
            os.sched_setaffinity(pid, {core})
    return Running(layout, f"http://127.0.0.1:{port}/", [gateway.pid, *children(gateway.pid)], load_cores)


def _measure(gw: Running, up_pids: list[int], seconds: int, connections: int) -> Result:
    from bench.run import CLK_TCK, cpu_ticks

    for pid in up_pids:  # the upstream follows the load's cores
        os.sched_setaffinity(pid, {int(c) for c in gw.load_cores.split(",")})
    before, up_before = cpu_ticks(gw.pids), cpu_ticks(up_pids)
    requests, rps, errors, wrk_cpu = _wrk(gw.url, seconds, connections, gw.load_cores)
    gateway_s = (cpu_ticks(gw.pids) - before) / CLK_TCK
    upstream_s = (cpu_ticks(up_pids) - up_before) / CLK_TCK
    n = max(requests, 1)
    return Result(gw.layout, rps, gateway_s * 1e6 / n, (wrk_cpu + upstream_s) * 1e6 / n, errors)


def ceiling(gateway_us: float, load_us: float) -> float:
    """The best ``shared-2 / shared-1`` ratio two cores allow for these per-request costs."""
    one = min(1e6 / gateway_us, 2e6 / (gateway_us + load_us))
    two = min(2e6 / gateway_us, 2e6 / (gateway_us + load_us))
    return two / one


def main(argv: list[str] | None = None) -> int:
    from bench.run import NGINX_UPSTREAM, Procs, children, free_port, start_nginx, wait_port

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=4, help="measured seconds per layout and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the fastest is kept")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="moongate-bench-workers-"))
    procs = Procs()
    runs: dict[str, list[Result]] = {}
    try:
        up_port = free_port()
        upstream = start_nginx(procs, NGINX_UPSTREAM, tmp, "upstream", "0,1", port=up_port)
        wait_port(up_port)
        up_pids = [upstream.pid, *children(upstream.pid)]
        config = tmp / "gateway.yml"
        config.write_text(json.dumps(no_plugins(up_port)))  # JSON is YAML
        gateways = [_start(layout, config, tmp, procs) for layout in args.layouts.split(",")]
        for gw in gateways:  # warm-up: pools, caches
            _wrk(gw.url, 2, args.connections, gw.load_cores)
        # interleaved rounds, as bench/run.py: a disturbance of the shared machine hits one
        # round of every layout; per layout the least disturbed (fastest) round is kept
        for round_no in range(args.rounds):
            order = gateways[round_no % len(gateways) :] + gateways[: round_no % len(gateways)]
            for gw in order:
                runs.setdefault(gw.layout, []).append(_measure(gw, up_pids, args.seconds, args.connections))
    finally:
        procs.stop_all()
    print_table([max(results, key=lambda r: r.rps) for results in runs.values()])
    return 0


def print_table(results: list[Result]) -> None:
    by = {r.layout: r for r in results}
    header = f"{'layout':10} {'req/s':>8} {'gw CPU µs/req':>14} {'gw req/CPU-s':>13} {'load CPU µs/req':>16} {'errors':>6}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.layout:10} {r.rps:8.0f} {r.gateway_us:14.1f} {1e6 / max(r.gateway_us, 1e-9):13.0f} "
            f"{r.load_us:16.1f} {r.errors:6d}"
        )
    for two, one in (("pinned-2", "pinned-1"), ("shared-2", "shared-1"), ("split-2", "shared-1")):
        if two in by and one in by:
            print(f"{two} / {one}: req/s ratio {by[two].rps / by[one].rps:.2f}", end="")
            if one == "shared-1":
                top = ceiling(by[one].gateway_us, by[one].load_us)
                print(f" (ceiling on 2 cores {top:.2f}; {by[two].rps / by[one].rps / top:.0%} of it)", end="")
            print()


if __name__ == "__main__":
    sys.exit(main())
