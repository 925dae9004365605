"""Request bodies reach the upstream as the client sent them, and binary bodies plugins set."""

from __future__ import annotations

import asyncio
import gzip

from aiohttp import web


async def _capturing_upstream(seen: list[tuple[str | None, bytes]]) -> web.AppRunner:
    async def handle(request: web.Request) -> web.Response:
        seen.append((request.headers.get("Content-Encoding"), await request.read()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, auto_decompress=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def _config(runner: web.AppRunner, plugins: list[dict] | None = None) -> dict:
    service = {"url": f"http://127.0.0.1:{runner.addresses[0][1]}", "routes": [{"paths": ["/"]}]}
    return {"_format_version": "3.0", "services": [service], "plugins": plugins or []}


async def test_a_gzip_request_body_is_forwarded_untouched(make_gateway, http):
    seen: list[tuple[str | None, bytes]] = []
    up = await _capturing_upstream(seen)
    try:
        gw = await make_gateway(_config(up))
        body = gzip.compress(b'{"hello": "world"}')
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        async with http.post(gw.url + "/in", data=body, headers=headers) as resp:
            assert resp.status == 200
        assert seen == [("gzip", body)]
    finally:
        await up.cleanup()


async def test_a_binary_body_set_from_lua_reaches_the_upstream_byte_for_byte(make_gateway, http):
    seen: list[tuple[str | None, bytes]] = []
    up = await _capturing_upstream(seen)
    try:
        code = "kong.service.request.set_raw_body('\\0\\255\\254binary\\128')"
        gw = await make_gateway(
            _config(up, [{"name": "pre-function", "config": {"access": [code]}}]), plugins_dirs=[]
        )
        async with http.post(gw.url + "/in", data=b"text") as resp:
            assert resp.status == 200
        await asyncio.sleep(0)
        assert seen == [(None, b"\x00\xff\xfebinary\x80")]
    finally:
        await up.cleanup()
