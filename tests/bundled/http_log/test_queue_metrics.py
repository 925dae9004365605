"""http-log's queue as an operator sees it: drops in ``/metrics``, and a clean stop.

* ``kong_log_queue_dropped_total{plugin}`` (our extension) counts the entries a full
  queue dropped, read with prometheus-client's text parser;
* a gateway that stops sends what its queues hold before it exits, and closes its
  connections to the log server (no "Unclosed client session" on a process's stderr).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from host.config import load_data
from host.gateway import Gateway, build_registry
from host.settings import Settings
from tests.bundled.http_log._receiver import receiver
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]


def _config(upstream_url: str, plugin_config: dict) -> dict:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "echo",
                "url": upstream_url,
                "routes": [{"name": "r1", "paths": ["/api"]}],
                "plugins": [{"name": "http-log", "config": plugin_config}],
            }
        ],
    }


async def _dropped(gw) -> float | None:
    """``kong_log_queue_dropped_total{plugin="http-log"}`` (None when the series is absent)."""
    resp = await gw.metrics()
    assert resp.status == 200
    for family in text_string_to_metric_families(resp.text):
        if family.name == "kong_log_queue_dropped":
            assert family.type == "counter"
            for sample in family.samples:
                if sample.name == "kong_log_queue_dropped_total" and sample.labels == {"plugin": "http-log"}:
                    return sample.value
    return None


async def test_dropped_entries_are_a_counter_in_metrics(gateway, mock_upstream):
    # the receiver refuses everything and the retry waits: the queue fills up
    queue = {"max_entries": 2, "initial_retry_delay": 5, "max_retry_time": 60}
    async with receiver(statuses=[500]) as rec:
        gw = await gateway.start(
            _config(mock_upstream.url, {"http_endpoint": rec.url, "queue": queue}), status=True
        )
        assert (await gw.get("/api/first")).status == 200
        await rec.wait_for(1)  # the first entry is out (refused; its retry waits 5 s)
        before = await _dropped(gw)
        assert before is not None  # the plugin's series exists (at its count so far) once it has a queue
        for i in range(9):
            assert (await gw.get(f"/api/{i}")).status == 200
        # nine entries into a queue of two: seven dropped (the oldest ones)
        assert await _dropped(gw) == before + 7


async def test_stopping_sends_what_is_queued_and_closes_the_sessions(tmp_path, mock_upstream, http):
    # batches of two, or one after 60 s: the third entry waits in the queue
    queue = {"max_batch_size": 2, "max_coalescing_delay": 60}
    async with receiver() as rec:
        conf = tmp_path / "kong.yml"
        conf.write_text(
            yaml.safe_dump(_config(mock_upstream.url, {"http_endpoint": rec.url + "/logs", "queue": queue}))
        )
        proxy, status = free_port(), free_port()
        args = [sys.executable, "-m", "host.cli", "start", "-c", str(conf), "--proxy-listen", f"127.0.0.1:{proxy}",
                "--status-listen", f"127.0.0.1:{status}", "--admin-listen", "off", "--prefix", str(tmp_path / "p")]  # fmt: skip
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            await _wait_ready(http, f"http://127.0.0.1:{status}", proc)
            for i in range(3):
                async with http.get(f"http://127.0.0.1:{proxy}/api/{i}") as resp:
                    assert resp.status == 200
            (first,) = await rec.wait_for(1)  # its session stays open (keepalive)
            await asyncio.sleep(0.3)
            assert len(rec.requests) == 1
            proc.send_signal(signal.SIGTERM)
            _, last = await rec.wait_for(2)
            code = await asyncio.get_running_loop().run_in_executor(None, proc.wait, 20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    assert code == 0, stderr
    assert [e["request"]["uri"] for e in json.loads(first.body)] == ["/api/0", "/api/1"]
    assert [e["request"]["uri"] for e in json.loads(last.body)] == ["/api/2"]
    assert "Unclosed" not in stderr, stderr


async def _wait_ready(http, status_url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            async with http.get(status_url + "/status") as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("gateway did not start")


class _Peer:
    """A keep-alive HTTP/1.1 log server that counts its open connections."""

    def __init__(self) -> None:
        self.open = 0
        self.bodies: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                self.bodies.append(await reader.readexactly(int(length[1]) if length else 0))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


async def _until(check, timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_stopping_closes_the_connection_to_the_log_server(mock_upstream, http):
    peer = _Peer()
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    endpoint = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/logs"
    settings = Settings(proxy_listen="127.0.0.1:0", status_listen="off", admin_listen="off")
    registry = build_registry(settings)
    gateway = Gateway(
        settings, registry, load_data(_config(mock_upstream.url, {"http_endpoint": endpoint}), registry)
    )
    await gateway.start()
    try:
        async with http.get(f"http://127.0.0.1:{gateway.proxy_port}/api/x") as resp:
            assert resp.status == 200
        assert await _until(lambda: len(peer.bodies) == 1)
        assert peer.open == 1  # kept alive (keepalive: 60 s)
    finally:
        await gateway.stop(grace=1.0)
    try:
        assert await _until(lambda: peer.open == 0), "the gateway left its log connection open"
    finally:
        server.close()
        await server.wait_closed()
