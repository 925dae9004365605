"""Gateways as separate ``moongate start`` processes, for a plugin's tests of state that
several processes share (a limit counted in Redis, Prometheus' multi-process directory,
workers of one node): ``await gateway.spawn(...)``.

Each process gets its own prefix directory and free ports on 127.0.0.1; settings reach
it as ``KONG_<NAME>`` environment variables (the test process's own ``KONG_*`` and
``MOONGATE_*`` variables are not passed on), the config as a file for ``-c``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from host.testing.harness import GatewayClient

__all__ = ["SpawnedGateway", "spawn_gateway"]

#: the directory holding the ``host`` package, put on the child's PYTHONPATH
_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


class SpawnedGateway(GatewayClient):
    """A running ``moongate start`` process: the :class:`GatewayClient` helpers
    (``get()``, ``status()``, ``metrics()`` ...), ``process``, ``prefix`` (its working
    directory) and ``log`` (what it wrote to stderr so far)."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        session: aiohttp.ClientSession,
        ports: tuple[int, int, int | None],
        prefix: Path,
    ) -> None:
        super().__init__(session, *ports)
        self.process = process
        self.prefix = prefix

    @property
    def log(self) -> str:
        path = self.prefix / "stderr.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (the gateway drains and exits), SIGKILL after ``timeout`` seconds;
        returns the exit code.  The harness calls it after the test."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)
        return self.process.returncode


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env_value(value: Any) -> str:
    """A setting as ``Settings.from_env`` reads it back."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


async def spawn_gateway(
    session: aiohttp.ClientSession,
    config: dict[str, Any],
    plugins_dirs: list[str],
    *,
    settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    workers: int = 1,
    admin: bool = False,
    timeout: float = 30.0,
) -> SpawnedGateway:
    """Start ``moongate start -c <config>`` and wait until ``/status/ready`` answers 200;
    a process that exits first, or is not ready in ``timeout`` seconds, raises
    ``RuntimeError`` with what it wrote to stderr."""
    prefix = Path(tempfile.mkdtemp(prefix="moongate-test-"))
    conf_file = prefix / "kong.json"  # JSON is YAML: `-c` reads it
    conf_file.write_text(json.dumps(config))
    proxy, status = _free_port(), _free_port()
    admin_port = _free_port() if admin else None
    options: dict[str, Any] = {
        "proxy_listen": f"127.0.0.1:{proxy}",
        "status_listen": f"127.0.0.1:{status}",
        "admin_listen": f"127.0.0.1:{admin_port}" if admin_port else "off",
        "prefix": str(prefix / "run"),
        "plugins_dirs": plugins_dirs,
        "nginx_worker_processes": workers,
        **(settings or {}),
    }
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "MOONGATE_"))}
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [_SOURCE_ROOT, child_env.get("PYTHONPATH")]))
    child_env.update({f"KONG_{name.upper()}": _env_value(value) for name, value in options.items()})
    child_env.update(env or {})
    with (prefix / "stderr.log").open("w") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "host.cli",
            "start",
            "-c",
            str(conf_file),
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    spawned = SpawnedGateway(process, session, (proxy, status, admin_port), prefix)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if process.returncode is not None:
            log = spawned.log
            await spawned.stop()
            raise RuntimeError(f"the gateway exited with code {process.returncode}:\n{log}")
        try:
            async with session.get(f"{spawned.status_url}/status/ready") as resp:
                if resp.status == 200:
                    return spawned
        except aiohttp.ClientError:
            pass
        if loop.time() > deadline:
            log = spawned.log
            await spawned.stop()
            raise RuntimeError(f"the gateway was not ready in {timeout} s:\n{log}")
        await asyncio.sleep(0.05)
