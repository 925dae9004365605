"""The proxy through real sockets: routing to a real echo upstream, headers, errors."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.conftest import free_port, service


@pytest.fixture
async def gw(make_gateway, echo_upstream):
    config = {
        "_format_version": "3.0",
        "services": [
            {
                **service(echo_upstream, path="/base"),
                "routes": [
                    {"name": "strip", "paths": ["/strip"]},
                    {"name": "keep", "paths": ["/keep"], "strip_path": False},
                    {"name": "regex", "paths": ["~/items/(?<id>\\d+)$"], "strip_path": False},
                    {"name": "preserve", "hosts": ["preserved.test"], "preserve_host": True},
                ],
            },
            {"name": "root", "url": echo_upstream.url, "routes": [{"name": "root", "paths": ["/root"]}]},
        ],
    }
    return await make_gateway(config, plugins_dirs=[])


async def test_strip_path_joins_service_path(gw, http):
    async with http.get(gw.url + "/strip/a/b?x=1&y=2") as resp:
        assert resp.status == 200
        data = await resp.json()
    assert data["path"] == "/base/a/b"
    assert data["query"] == "x=1&y=2"


async def test_strip_path_false_keeps_route_prefix(gw, http):
    async with http.get(gw.url + "/keep/z") as resp:
        data = await resp.json()
    assert data["path"] == "/base/keep/z"


async def test_regex_route_and_query_passthrough(gw, http):
    async with http.get(gw.url + "/items/42?") as resp:
        data = await resp.json()
    assert resp.status == 200
    assert data["path"] == "/base/items/42"


async def test_no_route_gives_kong_404(gw, http):
    async with http.get(gw.url + "/nowhere") as resp:
        assert resp.status == 404
        assert resp.headers["Content-Type"].startswith("application/json")
        body = await resp.json()
    assert body["message"] == "no Route matched with those values"
    assert body["request_id"] == resp.headers["X-Kong-Request-Id"]


async def test_forwarded_headers_sent_upstream(gw, http):
    async with http.get(
        gw.url + "/strip/h", headers={"X-Forwarded-For": "203.0.113.9", "Via": "1.0 edge"}
    ) as resp:
        data = await resp.json()
    h = {k.lower(): v for k, v in data["headers"].items()}
    assert h["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "127.0.0.1"
    assert h["x-forwarded-port"] == str(gw.gateway.proxy_port)
    assert h["x-forwarded-path"] == "/strip/h"
    assert h["x-forwarded-prefix"] == "/strip"
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["via"].startswith("1.0 edge, 1.1 moongate/")
    assert len(h["x-kong-request-id"]) == 32
    assert h["host"] == f"127.0.0.1:{gw.url.rsplit(':', 1)[1]}" or h["host"].startswith("127.0.0.1:")


async def test_untrusted_forwarded_proto_is_ignored(gw, http):
    async with http.get(
        gw.url + "/strip", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil"}
    ) as resp:
        data = await resp.json()
    h = {k.lower(): v for k, v in data["headers"].items()}
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "127.0.0.1"


async def test_preserve_host_sends_client_host(gw, http):
    async with http.get(gw.url + "/", headers={"Host": "preserved.test:1234"}) as resp:
        data = await resp.json()
    assert data["headers"]["Host"] == "preserved.test:1234"


async def test_response_headers_added_like_kong(gw, http):
    async with http.get(gw.url + "/root/x") as resp:
        assert resp.status == 200
        assert resp.headers["Via"].startswith("1.1 moongate/")
        assert resp.headers["X-Upstream"] == "echo"
        assert int(resp.headers["X-Kong-Upstream-Latency"]) >= 0
        assert int(resp.headers["X-Kong-Proxy-Latency"]) >= 0
        assert len(resp.headers["X-Kong-Request-Id"]) == 32
        # the upstream's Server header is passed through
        assert "Python" in resp.headers["Server"] or "aiohttp" in resp.headers["Server"]


async def test_hop_by_hop_headers_removed_upstream(gw, http):
    headers = {
        "Connection": "keep-alive, X-Secret-Hop",
        "X-Secret-Hop": "1",
        "Keep-Alive": "timeout=5",
        "Proxy": "p",
    }
    async with http.get(gw.url + "/strip", headers=headers) as resp:
        data = await resp.json()
    names = {k.lower() for k in data["headers"]}
    assert "x-secret-hop" not in names
    assert "keep-alive" not in names
    assert "proxy" not in names


async def test_post_body_forwarded(gw, http):
    async with http.post(
        gw.url + "/strip/p", data=b'{"a": 1}', headers={"Content-Type": "application/json"}
    ) as resp:
        data = await resp.json()
    assert data["method"] == "POST"
    assert json.loads(data["body"]) == {"a": 1}


async def test_chunked_upload_streams(gw, http):
    async def gen():
        for i in range(5):
            yield f"part{i};".encode()

    async with http.post(gw.url + "/root/upload", data=gen()) as resp:
        data = await resp.json()
    assert data == {"received": len("part0;") * 5}


async def test_expect_100_continue(gw):
    host, port = "127.0.0.1", gw.gateway.proxy_port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /root/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(b"hello")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_head_request(gw, http):
    async with http.head(gw.url + "/root/bytes/1000") as resp:
        assert resp.status == 200
        assert await resp.read() == b""


async def test_large_download_streams(gw, http):
    size = 5 * 1024 * 1024 + 17
    total = 0
    async with http.get(gw.url + "/root/bytes/" + str(size)) as resp:
        async for chunk in resp.content.iter_any():
            total += len(chunk)
    assert total == size


async def test_upstream_status_passed_through(gw, http):
    async with http.get(gw.url + "/root/status/418") as resp:
        assert resp.status == 418


async def test_connection_refused_gives_502_after_retries(make_gateway, http):
    port = free_port()
    config = {
        "_format_version": "3.0",
        "services": [
            {"name": "dead", "url": f"http://127.0.0.1:{port}", "retries": 2, "routes": [{"paths": ["/"]}]}
        ],
    }
    gw = await make_gateway(config, plugins_dirs=[])
    async with http.get(gw.url + "/x") as resp:
        assert resp.status == 502
        body = await resp.json()
    assert body["message"] == "An invalid response was received from the upstream server"


async def test_read_timeout_gives_504(make_gateway, echo_upstream, http):
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "slow",
                "url": echo_upstream.url + "/delay/1500",
                "read_timeout": 200,
                "retries": 0,
                "routes": [{"paths": ["/slow"]}],
            }
        ],
    }
    gw = await make_gateway(config, plugins_dirs=[])
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with http.get(gw.url + "/slow") as resp:
        assert resp.status == 504
        body = await resp.json()
    assert body["message"] == "The upstream server is timing out"
    assert loop.time() - t0 < 1.4


async def test_oversized_headers_get_clean_4xx_and_gateway_survives(gw, http):
    big = "a" * 100_000
    async with http.get(gw.url + "/root", headers={"X-Big": big}) as resp:
        assert resp.status == 400
        assert await resp.json() == {"message": "Request header or cookie too large"}
    many = {f"X-H{i}": "v" for i in range(300)}
    async with http.get(gw.url + "/root", headers=many) as resp:
        assert resp.status == 400
        assert "message" in await resp.json()
    async with http.get(gw.url + "/root/ok") as resp:
        assert resp.status == 200


async def test_client_disconnect_mid_stream_releases_upstream(gw):
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.gateway.proxy_port)
    writer.write(b"GET /root/bytes/104857600 HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    await reader.readexactly(100_000)
    writer.transport.abort()
    client = gw.gateway.client
    # the upstream connection must be closed (not kept busy streaming 100 MB nobody reads)
    for _ in range(200):
        pools = [c for pool in client._pools.values() for c in pool]
        if not pools:
            break
        await asyncio.sleep(0.01)
    async with aiohttp.ClientSession() as s, s.get(gw.url + "/root/ok") as resp:
        assert resp.status == 200


async def test_upstream_keepalive_connection_reused(gw, http):
    for _ in range(5):
        async with http.get(gw.url + "/root/r") as resp:
            await resp.read()
    pools = gw.gateway.client._pools
    assert sum(len(p) for p in pools.values()) == 1
    assert next(iter(pools.values()))[0].requests == 5
