"""Two gateway processes sharing one PROMETHEUS_MULTIPROC_DIR: /metrics of either shows the sum."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]


def config(upstream_url: str) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{"name": "mp", "url": upstream_url, "routes": [{"name": "mp", "paths": ["/"]}]}],
        "plugins": [{"name": "prometheus", "config": {"status_code_metrics": True, "latency_metrics": True}}],
    }


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_ready(http: Any, url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            async with http.get(url + "/status") as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("gateway did not start")


async def total(http: Any, status_url: str) -> tuple[float, float]:
    async with http.get(status_url + "/metrics") as resp:
        text = await resp.text()
    requests = latency = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("service") != "mp":
                continue
            if sample.name == "kong_http_requests_total":
                requests += sample.value
            elif sample.name == "kong_request_latency_ms_count":
                latency += sample.value
    return requests, latency


async def test_two_processes_sum(tmp_path, echo_upstream, http, processes):
    conf = tmp_path / "kong.yml"
    conf.write_text(yaml.safe_dump(config(echo_upstream.url)))
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    gateways = []
    for name in ("a", "b"):
        proxy, status = free_port(), free_port()
        args = [
            sys.executable,
            "-m",
            "host.cli",
            "start",
            "-c",
            str(conf),
            "--workers",
            "1",
            "--proxy-listen",
            f"127.0.0.1:{proxy}",
            "--status-listen",
            f"127.0.0.1:{status}",
            "--admin-listen",
            "off",
            "--prefix",
            str(tmp_path / name),
        ]
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        processes.append(proc)
        gateways.append((f"http://127.0.0.1:{proxy}", f"http://127.0.0.1:{status}", proc))
    for _, status_url, proc in gateways:
        await wait_ready(http, status_url, proc)
    for (url, _, _), count in zip(gateways, (5, 3), strict=True):
        for _ in range(count):
            async with http.get(url + "/x") as resp:
                assert resp.status == 200
    for _, status_url, _ in gateways:
        for _ in range(100):  # each worker flushes its counts within a second
            if await total(http, status_url) == (8, 8):
                break
            await asyncio.sleep(0.1)
        assert await total(http, status_url) == (8, 8)
    assert any(p.name.startswith("counter_") for p in shared.iterdir())
