"""Hostile plugins at ``isolated``, against a real gateway process.

One ``moongate start`` process runs a Lua and a Python plugin at ``isolated``, each
in a worker process of its own; the query string picks the misbehaviour.  For each
row the test asserts the exact client outcome (the generic 500), the log line
(plugin, phase, route, request id, reason), that another route still answers, that
the gateway is the very same process, and that only the misbehaving plugin's worker
was replaced (the other plugin's worker keeps its pid).  The last test stops the
gateway and checks that no worker process is left behind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.host.isolated._plugins import children, write_plugins
from tests.host.lua.sandbox._gateway import GatewayProcess, Upstream

GENERIC = {"message": "An unexpected error occurred"}


@dataclass(frozen=True)
class Row:
    id: str
    path: str
    reason: str

    @property
    def plugin(self) -> str:
        return "iso-lua" if self.path.startswith("/lua") else "iso-py"


ROWS = [
    Row("lua-infinite-loop", "/lua?do=loop", "timeout"),
    Row("lua-sleep-forever", "/lua?do=sleep", "timeout"),
    Row("lua-memory-bomb", "/lua?do=bomb", "memory"),
    Row("lua-segfault-coroutine-wrap", "/lua?do=segv", "crash"),
    Row("py-sigsegv", "/py?py=segv", "crash"),
    Row("py-ctypes-null-read", "/py?py=ctypes", "crash"),
    Row("py-exit-0", "/py?py=exit", "crash"),
    Row("py-garbage-on-channel", "/py?py=garbage", "protocol"),
    Row("py-sleep-forever", "/py?py=sleep", "timeout"),
    Row("py-memory-bomb", "/py?py=bomb", "memory"),
]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("isolated")
    lua_dir, py_dir = write_plugins(tmp)
    upstream = Upstream(tmp)
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "echo",
                "url": upstream.url,
                "routes": [
                    {"name": "ok", "paths": ["/ok"]},
                    {"name": "lua", "paths": ["/lua"], "plugins": [{"name": "iso-lua"}]},
                    {"name": "py", "paths": ["/py"], "plugins": [{"name": "iso-py"}]},
                ],
            }
        ],
    }
    gw = GatewayProcess(
        tmp,
        config,
        env={
            "KONG_PLUGIN_TRUST": "iso-lua:isolated,iso-py:isolated",
            "KONG_NGINX_WORKER_PROCESSES": "1",
            "KONG_ISOLATED_MAX_MEMORY": str(1 << 30),
        },
        plugins_dirs=[lua_dir, py_dir],
    )
    _wait_for_proxy(gw)
    yield gw
    gw.stop()
    upstream.stop()


def _wait_for_proxy(gw: GatewayProcess, timeout: float = 30.0) -> None:
    """The status port answers first; on a loaded machine the proxy may lag behind."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if gw.get("/ok", timeout=5).status == 200:
                return
        except OSError:
            if time.monotonic() > deadline or not gw.alive():
                raise
        time.sleep(0.1)


def _worker_pids(gw: GatewayProcess) -> dict[str, int]:
    """plugin -> its worker's pid (each plugin's handler reports its own pid)."""
    lua = gw.get("/lua?do=pid")
    py = gw.get("/py")
    assert lua.status == 200 and py.status == 200, (lua.body, py.body)
    pids = {
        "iso-lua": int(lua.headers["x-worker-pid"]),
        "iso-py": int({k.lower(): v for k, v in py.json()["headers"].items()}["x-py"].split(":")[1]),
    }
    assert set(pids.values()) <= set(children(gw.pid))
    return pids


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_hostile_isolated_plugin(gateway: GatewayProcess, row: Row) -> None:
    before = _worker_pids(gateway)
    started = time.monotonic()
    resp = gateway.get(row.path)
    assert time.monotonic() - started < 10.0
    assert resp.status == 500, resp.body[:300]
    body = resp.json()
    assert {k: v for k, v in body.items() if k != "request_id"} == GENERIC
    lines = [
        line
        for line in gateway.plugin_errors(row.path[1:].split("?")[0])
        if line.get("request_id") == body["request_id"]
    ]
    assert len(lines) == 1, lines
    assert (lines[0]["plugin"], lines[0]["phase"], lines[0]["reason"]) == (row.plugin, "access", row.reason)
    assert gateway.get("/ok").status == 200
    assert gateway.alive(), gateway.exit_status()
    after = _worker_pids(gateway)  # the next requests to both plugins work
    assert after[row.plugin] != before[row.plugin]  # a new worker for the hostile plugin
    other = "iso-py" if row.plugin == "iso-lua" else "iso-lua"
    assert after[other] == before[other]  # the other plugin's worker was not touched
    assert before[row.plugin] not in children(gateway.pid)  # the old one is gone (reaped)


def test_no_worker_outlives_the_gateway(gateway: GatewayProcess) -> None:
    pids = set(_worker_pids(gateway).values())
    gateway.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.05)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
