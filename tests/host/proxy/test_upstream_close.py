"""An upstream response whose body ends with the connection (no length, not chunked)."""

from __future__ import annotations

import asyncio

import aiohttp


async def _closing_upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part, ")
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(b"last part")
    await writer.drain()
    writer.close()


async def test_a_body_delimited_by_the_close_arrives_whole(make_gateway, http: aiohttp.ClientSession):
    server = await asyncio.start_server(_closing_upstream, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = {
        "_format_version": "3.0",
        "services": [{"name": "s", "url": f"http://127.0.0.1:{port}", "routes": [{"paths": ["/"]}]}],
    }
    gw = await make_gateway(config)
    try:
        async with http.get(gw.url + "/x", timeout=aiohttp.ClientTimeout(total=5)) as resp:
            assert resp.status == 200
            assert await resp.read() == b"first part, last part"
    finally:
        server.close()
