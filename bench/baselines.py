"""Calibration servers measured in the same run as the gateway.

* ``bare``: an aiohttp low-level server answering "hello world" (the floor of any
  aiohttp server on this machine);
* ``naive``: the naive aiohttp reverse proxy (aiohttp server + one pooled
  ``ClientSession``) that the issue's CPU targets are expressed against.

    python -m bench.baselines bare|naive PORT [UPSTREAM_PORT]
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import uvloop
from aiohttp import web


async def serve_bare(port: int) -> None:
    async def handler(request: web.BaseRequest) -> web.Response:
        return web.Response(body=b"hello world\n", content_type="text/plain")

    server = web.Server(handler, access_log=None)
    await asyncio.get_running_loop().create_server(server, "127.0.0.1", port)
    await asyncio.Event().wait()


async def serve_naive(port: int, upstream_port: int) -> None:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), auto_decompress=False)
    base = f"http://127.0.0.1:{upstream_port}"

    async def handler(request: web.BaseRequest) -> web.Response:
        async with session.request(request.method, base + request.path_qs) as upstream:
            body = await upstream.read()
            return web.Response(body=body, status=upstream.status, content_type=upstream.content_type)

    server = web.Server(handler, access_log=None)
    await asyncio.get_running_loop().create_server(server, "127.0.0.1", port)
    await asyncio.Event().wait()


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "bare":
        uvloop.run(serve_bare(port))
    else:
        uvloop.run(serve_naive(port, int(sys.argv[3])))


if __name__ == "__main__":
    main()
