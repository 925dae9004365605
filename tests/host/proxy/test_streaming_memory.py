"""1 GiB up and down through a real `moongate start` process: memory stays flat."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]
GIB = 1024 * 1024 * 1024
CHUNK = b"m" * (256 * 1024)


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


async def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("gateway did not start")


@pytest.mark.timeout(240)
async def test_one_gib_upload_and_download_with_flat_memory(tmp_path, echo_upstream):
    config = {
        "_format_version": "3.0",
        "services": [
            {"name": "big", "url": echo_upstream.url, "routes": [{"paths": ["/"], "strip_path": False}]}
        ],
    }
    cfg = tmp_path / "kong.yml"
    cfg.write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "host.cli",
            "start",
            "--workers",
            "1",  # one process: the test measures that very process
            "-c",
            str(cfg),
            "--proxy-listen",
            f"127.0.0.1:{port}",
            "--status-listen",
            "off",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await wait_listening(port, proc)
        url = f"http://127.0.0.1:{port}"
        timeout = aiohttp.ClientTimeout(total=180)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(url + "/ok") as resp:
                assert resp.status == 200
            baseline = peak_rss_kib(proc.pid)

            async def upload():
                for _ in range(GIB // len(CHUNK)):
                    yield CHUNK

            async with session.post(
                url + "/upload", data=upload(), headers={"Content-Length": str(GIB)}
            ) as resp:
                assert resp.status == 200
                assert await resp.json() == {"received": GIB}

            received = 0
            async with session.get(url + f"/bytes/{GIB}") as resp:
                assert resp.status == 200
                async for chunk in resp.content.iter_chunked(1024 * 1024):
                    received += len(chunk)
            assert received == GIB

        peak = peak_rss_kib(proc.pid)
        growth_mib = (peak - baseline) / 1024
        # 2 GiB went through; the gateway's peak RSS may only grow by buffers, not by the body
        assert growth_mib < 64, f"peak RSS grew by {growth_mib:.0f} MiB"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
