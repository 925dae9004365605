"""A real gateway in a process of its own, for tests that must see it survive.

The adversarial tests run hostile Lua against ``moongate start`` in a child process
(with the echo upstream, ``moongate demo-upstream``, in another): a Lua snippet that
crashed the process (SIGSEGV) would end the child, not the test run, and the tests
check after every hostile request that the gateway is the very same process and still
answers.  Requests go over plain sockets (``http.client``); log lines are read from
the gateway's stderr (one JSON object per line).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[4]
#: the child's environment: none of the caller's gateway settings
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "MOONGATE_"))}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/status/ready")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing answers on port {port}:\n{log.read_text()}")


class Upstream:
    """``moongate demo-upstream`` (the echo server) in a child process."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.log = tmp / "upstream.log"
        with self.log.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "host.cli", "demo-upstream", "--listen", f"127.0.0.1:{self.port}"],
                cwd=REPO,
                env=BASE_ENV,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        _wait_port(self.port, self.proc, self.log)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class GatewayProcess:
    """``moongate start -c kong.yml`` in a child process; ``env``: settings as variables."""

    def __init__(
        self,
        tmp: Path,
        config: dict[str, Any],
        *,
        env: dict[str, str] | None = None,
        plugins_dirs: list[Path] = (),
        module: str = "host.cli",
    ) -> None:
        self.tmp = tmp
        self.config_file = tmp / "kong.yml"
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        self.port, self.status_port = free_port(), free_port()
        self.log = tmp / "gateway.log"
        dirs = [arg for d in plugins_dirs for arg in ("--plugins-dir", str(d))]
        with self.log.open("w") as err:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    module,
                    "start",
                    "--workers",
                    "1",  # one process: the tests watch (and measure) that very process
                    "-c",
                    str(self.config_file),
                    "--proxy-listen",
                    f"127.0.0.1:{self.port}",
                    "--status-listen",
                    f"127.0.0.1:{self.status_port}",
                    *dirs,
                ],
                cwd=REPO,
                env={
                    **BASE_ENV,
                    "PYTHONFAULTHANDLER": "1",
                    "MOONGATE_PLUGIN_BREAKER_THRESHOLD": "0",
                    **(env or {}),
                },
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        self.pid = self.proc.pid
        _wait_port(self.status_port, self.proc, self.log)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def alive(self) -> bool:
        """The same process as at start, still running."""
        return self.proc.poll() is None and self.proc.pid == self.pid

    def exit_status(self) -> str:
        """How the process ended, for assertion messages (``running`` while it runs)."""
        code = self.proc.poll()
        return "running" if code is None else f"exited with {code}"

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines

    def plugin_errors(self, route: str) -> list[dict[str, Any]]:
        """The plugin-failure log lines of one route."""
        return [line for line in self.log_lines() if line.get("route") == route and line.get("phase")]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
