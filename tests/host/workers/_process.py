"""``moongate start`` in a child process for the worker tests, and the configs they use."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[3]
PROBE_PLUGINS = Path(__file__).resolve().parent / "plugins"
CLI = [sys.executable, "-m", "host.cli"]
#: settings from the environment would change what the commands do
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "MOONGATE_", "PROMETHEUS_"))}


def probe_config(upstream_url: str, tag: str, *paths: str) -> str:
    """One service on ``upstream_url``, one route per path, the worker-probe plugin tagged ``tag``."""
    routes = [{"name": p.strip("/") or "root", "paths": [p]} for p in paths or ("/",)]
    return yaml.safe_dump(
        {
            "_format_version": "3.0",
            "services": [{"name": "up", "url": upstream_url, "routes": routes}],
            "plugins": [{"name": "worker-probe", "config": {"tag": tag}}],
        }
    )


class Gateway:
    """A ``moongate start`` process; its stderr (JSON log lines) goes to a file."""

    def __init__(self, tmp: Path, config: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.config_file = tmp / "kong.yml"
        self.config_file.write_text(config)
        self.prefix = tmp / "prefix"
        self.port, self.status_port = free_port(), free_port()
        while self.status_port == self.port:
            self.status_port = free_port()
        self.log = tmp / "gateway.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.status_url = f"http://127.0.0.1:{self.status_port}"
        with self.log.open("w") as err:
            self.proc = subprocess.Popen(
                [
                    *CLI,
                    "start",
                    *("-c", str(self.config_file), "-p", str(self.prefix)),
                    *("--proxy-listen", f"127.0.0.1:{self.port}"),
                    *("--status-listen", f"127.0.0.1:{self.status_port}"),
                    *("--plugins-dir", str(PROBE_PLUGINS), "--log-level", "info"),
                    *args,
                ],
                cwd=REPO,
                env={**ENV, **(env or {})},
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    async def wait_started(self, timeout: float = 30) -> None:
        """Until the "moongate started" line (a supervisor says it once every worker is up)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited with {self.proc.returncode}:\n{self.log.read_text()}")
            if any(r.get("msg") == "moongate started" for r in self.records()):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"gateway not started after {timeout}s:\n{self.log.read_text()}")

    async def status(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        async with http.get(self.status_url + "/status") as resp:
            assert resp.status == 200
            return await resp.json()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.proc.poll() is None:
            if loop.time() > deadline:
                raise AssertionError(f"gateway still running after {timeout}s:\n{self.log.read_text()}")
            await asyncio.sleep(0.05)
        return self.proc.returncode

    def kill(self) -> None:
        """The end of a test: the process and any worker still there."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        for path in (self.prefix / "status").glob("*.json"):  # workers left by a killed supervisor
            try:
                os.kill(int(path.stem), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
