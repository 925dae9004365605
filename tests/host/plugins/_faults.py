"""Helpers of the fault-accounting tests: the misbehaving plugins, a raw HTTP client, metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from prometheus_client.parser import text_string_to_metric_families

#: plugins that fail on purpose (see fault_plugins/README.md)
FAULT_PLUGINS = Path(__file__).parent / "fault_plugins"
#: every error message of those plugins holds this: it must never reach a client
SECRET = b"SECRET-DETAIL"
GENERIC_500 = "An unexpected error occurred"


class RawResponse:
    """Every byte the client got, until the gateway closed the connection."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else None
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def json(self) -> Any:
        return orjson.loads(self.body)


async def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> RawResponse:
    """GET over a plain socket (``Connection: close``): what is on the wire, nothing parsed away."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    writer.write(f"GET {path} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n".encode())
    try:
        data = await asyncio.wait_for(reader.read(-1), 10)
    except ConnectionResetError:
        data = b""
    writer.close()
    return RawResponse(data)


async def metric_samples(http: aiohttp.ClientSession, status_url: str) -> dict[tuple[str, tuple], float]:
    """``{(sample name, sorted labels): value}`` from the status listener's ``/metrics``."""
    async with http.get(status_url + "/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def errors_counted(samples: dict[tuple[str, tuple], float], plugin: str, phase: str, reason: str) -> float:
    key = ("kong_plugin_errors_total", (("phase", phase), ("plugin", plugin), ("reason", reason)))
    return samples.get(key, 0.0)


async def wait_for_record(caplog: Any, predicate: Any, timeout: float = 5.0) -> Any:
    """The first log record matching ``predicate``, waiting for it (log handlers run late)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for record in caplog.records:
            if predicate(record):
                return record
        if loop.time() > deadline:
            raise AssertionError("no such log record")
        await asyncio.sleep(0.01)
