"""The benchmark: one run, several rows, ratios against nginx measured in the same run.

Each row runs wrk for ``--seconds`` (default 10, split over ``--rounds`` interleaved
rounds) against a target on 127.0.0.1, with the proxy under test pinned to core 0 and wrk
plus the upstream pinned to core 1.  The main
figure is the CPU time per request of the proxy process (utime + stime from /proc, the
most stable figure on a shared machine), with requests/s and p50/p99 latency.

    python -m bench.run [--seconds 10] [--rows a,b] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from bench.rowspec import discover_rows

ROOT = Path(__file__).resolve().parent.parent
BENCH_PLUGINS = ROOT / "bench" / "plugins"
BENCH_LUA_PLUGINS = ROOT / "bench" / "lua_plugins"
CLK_TCK = os.sysconf("SC_CLK_TCK")
GATEWAY_CORE = "0"
LOAD_CORE = "1"


@dataclass
class Row:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    requests: int
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def run_wrk(
    url: str, seconds: int, connections: int, headers: list[str] | None = None
) -> tuple[int, float, float, float, int]:
    extra = [arg for header in headers or [] for arg in ("-H", header)]
    cmd = [
        "taskset",
        "-c",
        LOAD_CORE,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        *extra,
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    return requests, rps, p50, p99, errors


def measure(
    name: str,
    url: str,
    pids: list[int],
    seconds: int,
    connections: int,
    warm: bool = True,
    headers: list[str] | None = None,
) -> Row:
    if warm:
        run_wrk(url, 2, connections, headers)  # warm-up: pools, caches, JIT
    before = cpu_ticks(pids)
    requests, rps, p50, p99, errors = run_wrk(url, seconds, connections, headers)
    after = cpu_ticks(pids)
    cpu_us = (after - before) / CLK_TCK * 1e6 / max(requests, 1)
    return Row(name, rps, p50, p99, cpu_us, requests, errors)


class Procs:
    """Processes started by the benchmark, all stopped at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: list[str], core: str, **kw: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["taskset", "-c", core, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw
        )  # type: ignore[call-overload]
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.stop(proc)


NGINX_UPSTREAM = """
worker_processes 1; daemon off; pid {tmp}/up.pid; error_log {tmp}/up-error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000;
  server {{ listen 127.0.0.1:{port}; location / {{ default_type text/plain; return 200 "hello world\\n"; }} }} }}
"""

NGINX_PROXY = """
worker_processes 1; daemon off; pid {tmp}/proxy.pid; error_log {tmp}/proxy-error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000;
  upstream up {{ server 127.0.0.1:{up}; keepalive 128; }}
  server {{ listen 127.0.0.1:{port};
    location / {{ proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }} }} }}
"""


def start_nginx(
    procs: Procs, template: str, tmp: Path, name: str, core: str, **values: object
) -> subprocess.Popen[bytes]:
    conf = tmp / f"{name}.conf"
    conf.write_text(template.format(tmp=tmp, **values))
    return procs.start(["nginx", "-c", str(conf), "-p", str(tmp)], core)


def gateway_config(upstream_port: int, routes: int, plugins: list[str]) -> dict[str, object]:
    route_list = [{"name": f"r{i}", "paths": [f"/r{i}"]} for i in range(routes - 1)]
    route_list.append({"name": "bench", "paths": ["/"]})
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bench",
                "url": f"http://127.0.0.1:{upstream_port}",
                "routes": route_list,
                "plugins": [{"name": p} for p in plugins],
            }
        ],
    }


def start_gateway(
    procs: Procs, tmp: Path, name: str, config: dict[str, object], extra: list[str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    path = tmp / f"{name}.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "host.cli",
        "start",
        "-c",
        str(path),
        "--proxy-listen",
        f"127.0.0.1:{port}",
        "--status-listen",
        "off",
        "--admin-listen",
        "off",
        "-p",
        str(tmp / f"{name}-prefix"),  # each gateway its own prefix (pid file, DB-less store)
        "--log-level",
        "error",
        "--plugins-dir",
        str(BENCH_PLUGINS),
        "--plugins-dir",
        str(BENCH_LUA_PLUGINS),
        *(extra or []),
    ]
    proc = procs.start(cmd, GATEWAY_CORE, cwd=str(ROOT))
    wait_port(port)
    return proc, port


EXTRA_ROWS = discover_rows()  # bench/rows_*.py: the plugin, balancing and worker rows
ROWS = [
    "upstream",
    "nginx",
    "aiohttp-bare",
    "aiohttp-naive",
    "moongate",
    "moongate-3-plugins",
    "moongate-10-routes",
    "moongate-1000-routes",
    "moongate-py-twin",
    "moongate-lua-1",
    "moongate-lua-5",
    *EXTRA_ROWS,
]


@dataclass
class Target:
    key: str
    name: str
    url: str
    pids: list[int]
    headers: list[str] = field(default_factory=list)


def start_targets(procs: Procs, tmp: Path, wanted: list[str]) -> list[Target]:
    """Start every process under test once; they idle (no CPU) while others are measured."""
    targets: list[Target] = []
    up_port = free_port()
    upstream = start_nginx(procs, NGINX_UPSTREAM, tmp, "upstream", LOAD_CORE, port=up_port)
    wait_port(up_port)
    if "upstream" in wanted:
        pids = [upstream.pid, *children(upstream.pid)]
        targets.append(Target("upstream", "upstream (nginx, direct)", f"http://127.0.0.1:{up_port}/", pids))
    if "nginx" in wanted:
        port = free_port()
        proxy = start_nginx(procs, NGINX_PROXY, tmp, "proxy", GATEWAY_CORE, port=port, up=up_port)
        wait_port(port)
        pids = [proxy.pid, *children(proxy.pid)]
        targets.append(Target("nginx", "nginx proxy_pass (1 worker)", f"http://127.0.0.1:{port}/", pids))
    baselines = {
        "aiohttp-bare": ("aiohttp bare server (no proxy)", ["bare"]),
        "aiohttp-naive": ("naive aiohttp proxy", ["naive"]),
    }
    for key, (label, kind) in baselines.items():
        if key in wanted:
            port = free_port()
            cmd = [sys.executable, "-m", "bench.baselines", *kind, str(port), str(up_port)]
            proc = procs.start(cmd, GATEWAY_CORE, cwd=str(ROOT))
            wait_port(port)
            targets.append(Target(key, label, f"http://127.0.0.1:{port}/", [proc.pid]))
    gateways = {
        "moongate": ("moongate, no plugins", 1, []),
        "moongate-3-plugins": (
            "moongate, 3 Python plugins",
            1,
            ["bench-header-echo", "bench-upstream-header", "bench-shared"],
        ),
        "moongate-10-routes": ("moongate, 10 routes", 10, []),
        "moongate-1000-routes": ("moongate, 1000 routes", 1000, []),
        # the Lua plugin rows: one Lua plugin, its Python twin, a chain of five
        "moongate-py-twin": ("moongate, 1 Python plugin", 1, ["bench-header-echo"]),
        "moongate-lua-1": ("moongate, 1 Lua plugin", 1, ["bench-lua-1"]),
        "moongate-lua-5": ("moongate, 5 Lua plugins", 1, [f"bench-lua-{i}" for i in range(1, 6)]),
    }
    for key, (label, nroutes, plugins) in gateways.items():
        if key in wanted:
            proc, port = start_gateway(procs, tmp, key, gateway_config(up_port, nroutes, plugins))
            targets.append(Target(key, label, f"http://127.0.0.1:{port}/", [proc.pid]))
    for key, spec in EXTRA_ROWS.items():
        if key in wanted:
            values = spec.setup(procs=procs, tmp=tmp, up_port=up_port) if spec.setup else {}
            config = spec.config(up_port=up_port, tmp=tmp, **values)
            proc, port = start_gateway(procs, tmp, key, config, spec.args)
            pids = [proc.pid, *children(proc.pid)]  # --workers N: the supervisor and its workers
            url = f"http://127.0.0.1:{port}{spec.path}"
            targets.append(Target(key, spec.label, url, pids, spec.headers))
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--seconds", type=int, default=10, help="measured seconds per row (split over rounds)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds; the least disturbed one is kept"
    )
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    for tool in ("wrk", "nginx", "taskset"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is missing (make bench installs wrk and nginx with apt)", file=sys.stderr)
            return 2
    wanted = args.rows.split(",")
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="moongate-bench-"))
    per_round = max(2, round(args.seconds / args.rounds))
    results: dict[str, list[Row]] = {}
    try:
        targets = start_targets(procs, tmp, wanted)
        for target in targets:  # warm-up: pools, caches
            run_wrk(target.url, 1, args.connections, target.headers)
        # Rows are measured in interleaved rounds so that a disturbance of the shared
        # machine hits one round of every row rather than all of one row; per row the
        # round with the least CPU per request is kept (the least disturbed one).
        for round_no in range(args.rounds):
            # a different order each round: a row never always follows the same neighbour
            order = targets[round_no % len(targets) :] + targets[: round_no % len(targets)]
            for target in order:
                row = measure(
                    target.name,
                    target.url,
                    target.pids,
                    per_round,
                    args.connections,
                    warm=False,
                    headers=target.headers,
                )
                results.setdefault(target.key, []).append(row)
    finally:
        procs.stop_all()
    rows = [min(runs, key=lambda r: r.cpu_us) for runs in results.values()]
    print_table(rows)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


def print_table(rows: list[Row]) -> None:
    base = next((r for r in rows if r.name.startswith("nginx")), None)
    nop = next((r for r in rows if r.name == "moongate, no plugins"), None)
    naive = next((r for r in rows if r.name == "naive aiohttp proxy"), None)
    header = (
        f"{'row':34} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs/req':>10} {'rps/nginx':>9} "
        f"{'CPU/nginx':>9} {'CPU/naive':>9} {'CPU/no-plugins':>14} {'rps/no-plugins':>14} {'+µs':>6} "
        f"{'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        rps_ratio = f"{r.rps / base.rps:.2f}" if base else "-"
        cpu_ratio = f"{r.cpu_us / base.cpu_us:.1f}" if base and base.cpu_us else "-"
        nop_ratio = (
            f"{r.cpu_us / nop.cpu_us:.2f}" if nop and nop.cpu_us and r.name.startswith("moongate") else "-"
        )
        naive_ratio = f"{r.cpu_us / naive.cpu_us:.2f}" if naive and naive.cpu_us else "-"
        added = f"{r.cpu_us - nop.cpu_us:+.1f}" if nop and r.name.startswith("moongate") else "-"
        nop_rps = f"{r.rps / nop.rps:.2f}" if nop and nop.rps and r.name.startswith("moongate") else "-"
        print(
            f"{r.name:34} {r.rps:9.0f} {r.p50_ms:7.2f} {r.p99_ms:7.2f} {r.cpu_us:10.1f} {rps_ratio:>9} "
            f"{cpu_ratio:>9} {naive_ratio:>9} {nop_ratio:>14} {nop_rps:>14} {added:>6} {r.errors:6d}"
        )


if __name__ == "__main__":
    sys.exit(main())
