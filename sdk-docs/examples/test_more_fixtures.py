"""An upstream that answers as the test needs, /metrics, gateways sharing a Redis, and a
gateway as a separate process."""

import os

from aiohttp import web


async def test_upstream_route_and_metrics(gateway, mock_upstream):
    async def teapot(request: web.Request) -> web.Response:
        return web.Response(status=418, text="short and stout")

    mock_upstream.route("/tea", teapot)  # /tea...: the handler; any other path: the echo
    gw = await gateway.start(
        plugins=[{"name": "prometheus", "config": {"status_code_metrics": True}}],
        plugins_dirs=[],
        status=True,
    )
    resp = await gw.get("/tea/earl-grey")
    assert (resp.status, resp.text) == (418, "short and stout")
    assert (await gw.get("/coffee")).json()["path"] == "/coffee"
    assert [r.path for r in mock_upstream.requests] == ["/tea/earl-grey", "/coffee"]
    metrics = (await gw.metrics()).text
    assert 'kong_http_requests_total{code="418",consumer="",route="test",service="test"' in metrics


async def test_two_gateways_share_a_redis(gateway, redis_server):
    redis_server.command("FLUSHALL")
    conf = {"hour": 2, "policy": "redis", "redis": {"host": redis_server.host, "port": redis_server.port}}
    one = await gateway.start(plugins=[{"name": "rate-limiting", "config": conf}], plugins_dirs=[])
    two = await gateway.start(plugins=[{"name": "rate-limiting", "config": conf}], plugins_dirs=[])
    assert [(await gw.get("/")).status for gw in (one, two, one)] == [200, 200, 429]


async def test_a_gateway_process(gateway):
    gw = await gateway.spawn(
        plugins=[{"name": "request-termination", "config": {"status_code": 503, "message": "maintenance"}}],
        plugins_dirs=[],
        workers=2,
    )
    resp = await gw.get("/")
    assert (resp.status, resp.json()) == (503, {"message": "maintenance"})
    assert gw.process.pid != os.getpid()
