"""request-size-limiting through real requests (Content-Length, buffered and streamed
chunked bodies), its schema, and the host's streaming body limit (host/proxy/body.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from host.config import load_data
from host.config.errors import ConfigError
from host.context import Context
from host.gateway import build_registry
from host.proxy.body import BODY_LIMIT_KEY, RequestBody, RequestBodyTooLarge
from host.settings import Settings
from host.testing import Response
from tests.bundled.docs import example_config

PREFIX = "kong.yml: plugins[0] (name=request-size-limiting): "
TOO_LARGE = {"message": "Request size limit exceeded"}


def cfg(upstream_url: str, conf: dict[str, Any]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{"name": "s", "url": upstream_url, "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "request-size-limiting", "config": conf}],
    }


async def chunks(n: int, size: int = 1024, pause: float = 0.002) -> AsyncIterator[bytes]:
    for _ in range(n):
        yield b"x" * size
        await asyncio.sleep(pause)


async def answer(resp: Response) -> dict[str, Any]:
    body = resp.json()
    body.pop("request_id", None)
    return body


class CountingUpstream:
    """An upstream that reads the whole body and records how many bytes each request had."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        size = 0
        async for chunk in request.content.iter_any():
            size += len(chunk)
        self.sizes.append(size)
        return web.json_response({"size": size})

    async def start(self) -> None:
        app = web.Application(client_max_size=0)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"


@pytest.fixture
async def counting() -> AsyncIterator[CountingUpstream]:
    upstream = CountingUpstream()
    await upstream.start()
    yield upstream
    assert upstream.runner is not None
    await upstream.runner.cleanup()


# -- schema --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry():
    return build_registry(Settings(plugins_dirs=[]))


def test_schema_defaults(registry):
    data = {"_format_version": "3.0", "plugins": [{"name": "request-size-limiting"}]}
    conf = load_data(data, registry, source="kong.yml").plugins[0]["config"]
    assert conf == {"allowed_payload_size": 128, "size_unit": "megabytes", "require_content_length": False}


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"size_unit": "gigabytes"}, "config.size_unit: expected one of: megabytes, kilobytes, bytes"),
        ({"allowed_payload_size": 1.5}, "config.allowed_payload_size: expected an integer"),
        ({"require_content_length": "yes"}, "config.require_content_length: expected a boolean"),
    ],
)
def test_schema_errors(registry, conf, message):
    data = {"_format_version": "3.0", "plugins": [{"name": "request-size-limiting", "config": conf}]}
    with pytest.raises(ConfigError) as info:
        load_data(data, registry, source="kong.yml")
    assert info.value.errors == [PREFIX + message]


# -- Content-Length and buffered bodies ------------------------------------------------------
@pytest.mark.parametrize(
    ("unit", "allowed", "ok", "refused"),
    [("bytes", 100, 100, 101), ("kilobytes", 2, 2048, 2049), ("megabytes", 1, 1048576, 1048577)],
)
async def test_content_length_per_unit(gateway, counting, unit, allowed, ok, refused):
    gw = await gateway.start(
        cfg(counting.url, {"allowed_payload_size": allowed, "size_unit": unit}), plugins_dirs=[]
    )
    resp = await gw.post("/", data=b"x" * ok)
    assert resp.status == 200 and resp.json()["size"] == ok
    resp = await gw.post("/", data=b"x" * refused)
    assert resp.status == 413
    assert await answer(resp) == TOO_LARGE
    assert counting.sizes == [ok]


async def test_expect_100_continue_gets_417_and_no_body_is_sent(gateway, counting):
    gw = await gateway.start(
        cfg(counting.url, {"allowed_payload_size": 10, "size_unit": "bytes"}), plugins_dirs=[]
    )
    resp = await gw.post("/", data=b"x" * 11, expect100=True)
    assert resp.status == 417
    assert await answer(resp) == TOO_LARGE
    assert counting.sizes == []


async def test_chunked_body_buffered_by_the_gateway(gateway, counting):
    gw = await gateway.start(
        cfg(counting.url, {"allowed_payload_size": 3, "size_unit": "kilobytes"}), plugins_dirs=[]
    )
    resp = await gw.post("/", data=chunks(3))
    assert resp.status == 200 and resp.json()["size"] == 3072
    resp = await gw.post("/", data=chunks(4))
    assert resp.status == 413
    assert await answer(resp) == TOO_LARGE
    assert counting.sizes == [3072]


async def test_require_content_length(gateway, counting):
    gw = await gateway.start(cfg(counting.url, {"require_content_length": True}), plugins_dirs=[])
    resp = await gw.get("/")
    assert resp.status == 411
    assert await answer(resp) == {"message": "A valid Content-Length header is required"}
    resp = await gw.post("/", data=b"abc")
    assert resp.status == 200
    resp = await gw.post("/", data=chunks(2))  # chunked is accepted
    assert resp.status == 200 and resp.json()["size"] == 2048


async def test_requests_without_body_pass(gateway, counting):
    gw = await gateway.start(cfg(counting.url, {"allowed_payload_size": 0}), plugins_dirs=[])
    resp = await gw.get("/")
    assert resp.status == 200


# -- chunked bodies larger than the gateway's buffer: limited while streaming ----------------
async def test_streamed_chunked_body_under_the_limit_passes_whole(gateway, counting):
    conf = {"allowed_payload_size": 64, "size_unit": "kilobytes"}
    gw = await gateway.start(
        cfg(counting.url, conf), plugins_dirs=[], settings={"client_body_buffer_size": 4096}
    )
    resp = await gw.post("/", data=chunks(64))
    assert resp.status == 200 and resp.json()["size"] == 65536


async def test_streamed_chunked_body_over_the_limit_never_reaches_the_upstream_whole(gateway, counting):
    conf = {"allowed_payload_size": 8, "size_unit": "kilobytes"}
    gw = await gateway.start(
        cfg(counting.url, conf), plugins_dirs=[], settings={"client_body_buffer_size": 4096}
    )
    try:
        resp = await gw.post("/", data=chunks(64))
        # the body reader's RequestBodyTooLarge becomes Kong's 413
        assert resp.status == 413
        assert resp.json()["message"] == "Request size limit exceeded"
    except (aiohttp.ClientError, ConnectionResetError):
        pass  # the gateway answers and closes while the client still sends: a reset
    await asyncio.sleep(0.2)
    assert counting.sizes == []  # the upstream never got a complete body


async def test_streaming_limit_stops_reading_at_the_first_byte_over(http):
    """host/proxy/body.py: the limit a plugin sets is enforced chunk by chunk, the rest of
    the body is left unread (nothing buffered)."""
    seen: list[int] = []

    async def handle(request: web.BaseRequest) -> web.Response:
        ctx = Context()
        ctx.shared[BODY_LIMIT_KEY] = 5000
        body = RequestBody(request)
        got = 0
        try:
            async for chunk in body.stream(ctx):
                got += len(chunk)
        except RequestBodyTooLarge as exc:
            seen.append(got)
            return web.Response(status=413, text=str(exc))
        return web.Response(text=str(got))

    server = web.Server(handle)
    runner = web.ServerRunner(server, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        async with http.post(url, data=chunks(3)) as resp:
            assert resp.status == 200 and await resp.text() == "3072"
        try:
            async with http.post(url, data=chunks(200, pause=0.005)) as resp:
                assert resp.status == 413
                assert await resp.text() == "request body larger than 5000 bytes"
        except aiohttp.ClientError:
            pass
        # what passed the limit check is at most the limit: the reader stopped there
        assert seen and seen[0] <= 5000
    finally:
        await runner.cleanup()


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("request-size-limiting", mock_upstream.url), plugins_dirs=[])
    resp = await gw.post("/upload", data=b"x" * 1024)
    assert resp.status == 200
    resp = await gw.post("/upload", data=b"x" * (512 * 1024 + 1))
    assert resp.status == 413
    resp = await gw.get("/upload")
    assert resp.status == 411
