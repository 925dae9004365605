"""A small upstream for the demo (`make run`) and the tests: it echoes what it received.

Endpoints (any method):
* ``/anything...``  JSON with method, path, query, headers, body (the default for every path)
* ``/status/<code>``  answers with that status
* ``/delay/<ms>``  answers after a delay
* ``/bytes/<n>``  streams n bytes (chunked), without holding them in memory
* ``/upload``  counts the request body's bytes as it streams in; answers ``{"received": n}``
"""

from __future__ import annotations

import asyncio
import base64
import os

from aiohttp import web

__all__ = ["make_app", "serve"]

_CHUNK = b"x" * 65536


async def _echo(request: web.Request) -> web.StreamResponse:
    path = request.path
    if path.startswith("/upload"):
        total = 0
        async for chunk in request.content.iter_any():
            total += len(chunk)
        return web.json_response({"received": total})
    body = await request.read()
    if path.startswith("/status/"):
        code = int(path.split("/")[2])
        return web.json_response({"status": code}, status=code)
    if path.startswith("/delay/"):
        await asyncio.sleep(int(path.split("/")[2]) / 1000)
    if path.startswith("/bytes/"):
        remaining = int(path.split("/")[2])
        resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        while remaining > 0:
            piece = _CHUNK if remaining >= len(_CHUNK) else _CHUNK[:remaining]
            await resp.write(piece)
            remaining -= len(piece)
        await resp.write_eof()
        return resp
    try:
        text = body.decode()
        encoded = None
    except UnicodeDecodeError:
        text, encoded = None, base64.b64encode(body).decode()
    payload = {
        "method": request.method,
        "path": path,
        "raw_path": request.raw_path,
        "query": request.query_string,
        "headers": {k: ", ".join(request.headers.getall(k)) for k in request.headers},
        "body": text,
        "body_base64": encoded,
        "upstream_pid": os.getpid(),
    }
    return web.json_response(payload, headers={"X-Upstream": "echo"})


def make_app() -> web.Application:
    app = web.Application(client_max_size=0)
    app.router.add_route("*", "/{tail:.*}", _echo)
    return app


def serve(host: str = "127.0.0.1", port: int = 9000) -> None:
    """Run the echo upstream until interrupted."""
    web.run_app(make_app(), host=host, port=port, access_log=None, print=None)
