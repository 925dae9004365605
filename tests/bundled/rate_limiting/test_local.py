"""rate-limiting with `policy: local` through real requests: headers, 429, limit_by, scopes."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.bundled.docs import example_config
from tests.bundled.rate_limiting._util import PLUGINS, away_from_edge, config, statuses
from tests.conftest import service

LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After")


async def test_headers_count_down_then_429_with_retry_after(gateway, mock_upstream):
    await away_from_edge(60)
    gw = await gateway.start(config(mock_upstream, {"minute": 3, "hour": 10}), plugins_dirs=[])
    seen = []
    for _ in range(3):
        resp = await gw.get("/a")
        assert resp.status == 200
        h = resp.headers
        seen.append(
            (
                h["RateLimit-Limit"],
                h["RateLimit-Remaining"],
                h["X-RateLimit-Limit-Minute"],
                h["X-RateLimit-Remaining-Minute"],
                h["X-RateLimit-Remaining-Hour"],
            )
        )
        assert 1 <= int(h["RateLimit-Reset"]) <= 60
        assert "Retry-After" not in h
    # RateLimit-* describe the window with the fewest requests left (the minute)
    assert seen == [("3", "2", "3", "2", "9"), ("3", "1", "3", "1", "8"), ("3", "0", "3", "0", "7")]
    resp = await gw.get("/a")
    assert resp.status == 429
    assert resp.json()["message"] == "API rate limit exceeded"
    h = resp.headers
    assert h["RateLimit-Remaining"] == "0" and h["X-RateLimit-Remaining-Minute"] == "0"
    # the refused request is not counted in the hour
    assert h["X-RateLimit-Limit-Hour"] == "10" and h["X-RateLimit-Remaining-Hour"] == "7"
    assert h["Retry-After"] == h["RateLimit-Reset"]
    assert 1 <= int(h["Retry-After"]) <= 60


async def test_equal_remaining_reports_the_longer_window(gateway, mock_upstream):
    await away_from_edge(60)
    gw = await gateway.start(config(mock_upstream, {"minute": 2, "day": 2}), plugins_dirs=[])
    resp = await gw.get("/a")
    assert resp.headers["RateLimit-Remaining"] == "1"
    # the day's reset, not the minute's
    assert int(resp.headers["RateLimit-Reset"]) > 60 or time.time() % 86400 > 86340


async def test_second_window_resets(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream, {"second": 1}), plugins_dirs=[])
    for _ in range(50):  # until two requests land in one second
        first = await statuses(gw, "/a", 2)
        if first == [200, 429]:
            break
    else:
        pytest.fail("never limited")
    resp = await gw.get("/a")
    if resp.status == 429:
        assert resp.headers["Retry-After"] == "1"
    await asyncio.sleep(1.05)
    assert await statuses(gw, "/a", 1) == [200]


async def test_hide_client_headers(gateway, mock_upstream):
    await away_from_edge(3600)
    gw = await gateway.start(config(mock_upstream, {"hour": 1, "hide_client_headers": True}), plugins_dirs=[])
    for expected in (200, 429):
        resp = await gw.get("/a")
        assert resp.status == expected
        assert not [k for k in resp.headers if k.lower().startswith(("ratelimit", "x-ratelimit", "retry"))]


async def test_custom_error_code_and_message(gateway, mock_upstream):
    await away_from_edge(3600)
    conf = {"hour": 1, "error_code": 503, "error_message": "slow down"}
    gw = await gateway.start(config(mock_upstream, conf), plugins_dirs=[])
    assert await statuses(gw, "/a", 1) == [200]
    resp = await gw.get("/a")
    assert resp.status == 503
    assert resp.json()["message"] == "slow down"
    assert "Retry-After" in resp.headers


async def test_limit_by_ip_default_shares_routes_of_a_global_plugin(gateway, mock_upstream):
    await away_from_edge(3600)
    gw = await gateway.start(config(mock_upstream, {"hour": 2}), plugins_dirs=[])
    # no consumer: limit_by consumer falls back to the client IP
    assert await statuses(gw, "/a", 1) == [200]
    assert await statuses(gw, "/b", 2) == [200, 429]


async def test_route_scoped_plugins_count_separately(gateway, mock_upstream):
    await away_from_edge(3600)
    cfg = config(mock_upstream, {"hour": 1})
    plugin = cfg.pop("plugins")[0]
    for route in cfg["services"][0]["routes"]:
        route["plugins"] = [plugin]
    gw = await gateway.start(cfg, plugins_dirs=[])
    assert await statuses(gw, "/a", 2) == [200, 429]
    assert await statuses(gw, "/b", 2) == [200, 429]


async def test_limit_by_header_and_fallback(gateway, mock_upstream):
    await away_from_edge(3600)
    conf = {"hour": 1, "limit_by": "header", "header_name": "X-Tenant"}
    gw = await gateway.start(config(mock_upstream, conf), plugins_dirs=[])
    assert await statuses(gw, "/a", 2, headers={"X-Tenant": "t1"}) == [200, 429]
    assert await statuses(gw, "/a", 1, headers={"X-Tenant": "t2"}) == [200]
    # without the header the client IP is the identifier
    assert await statuses(gw, "/a", 2) == [200, 429]


async def test_limit_by_path(gateway, mock_upstream):
    await away_from_edge(3600)
    conf = {"hour": 1, "limit_by": "path", "path": "/a"}
    gw = await gateway.start(config(mock_upstream, conf), plugins_dirs=[])
    assert await statuses(gw, "/a", 2) == [200, 429]
    # another path is counted by client IP, apart from /a
    assert await statuses(gw, "/b", 2) == [200, 429]


async def test_limit_by_service(gateway, mock_upstream):
    await away_from_edge(3600)
    cfg = config(mock_upstream, {"hour": 1, "limit_by": "service"})
    cfg["services"].append({**service(mock_upstream, name="other"), "routes": [{"paths": ["/c"]}]})
    gw = await gateway.start(cfg, plugins_dirs=[])
    assert await statuses(gw, "/a", 1) == [200]
    assert await statuses(gw, "/b", 1) == [429]  # same service
    assert await statuses(gw, "/c", 2) == [200, 429]


async def test_limit_by_consumer_then_credential_then_ip(gateway, mock_upstream):
    await away_from_edge(3600)
    cfg = config(mock_upstream, {"hour": 1})
    cfg["plugins"].append({"name": "cred-auth"})
    gw = await gateway.start(cfg, plugins_dirs=[PLUGINS])
    assert await statuses(gw, "/a", 2, headers={"X-Consumer": "alice"}) == [200, 429]
    assert await statuses(gw, "/a", 1, headers={"X-Consumer": "bob"}) == [200]
    # a credential without a consumer: the credential's id
    assert await statuses(gw, "/a", 2, headers={"X-Credential": "c1"}) == [200, 429]
    # anonymous: the IP
    assert await statuses(gw, "/a", 2) == [200, 429]


async def test_limit_by_credential(gateway, mock_upstream):
    await away_from_edge(3600)
    cfg = config(mock_upstream, {"hour": 1, "limit_by": "credential"})
    cfg["plugins"].append({"name": "cred-auth"})
    gw = await gateway.start(cfg, plugins_dirs=[PLUGINS])
    hdrs = {"X-Consumer": "alice", "X-Credential": "k1"}
    assert await statuses(gw, "/a", 2, headers=hdrs) == [200, 429]
    # the same consumer with another credential has its own counter
    assert await statuses(gw, "/a", 1, headers={**hdrs, "X-Credential": "k2"}) == [200]
    # a consumer without credential: the IP
    assert await statuses(gw, "/a", 2, headers={"X-Consumer": "bob"}) == [200, 429]


async def test_consumer_scoped_config(gateway, mock_upstream):
    await away_from_edge(3600)
    cfg = config(mock_upstream, {"hour": 5})
    cfg["consumers"][0]["plugins"] = [{"name": "rate-limiting", "config": {"hour": 1}}]
    cfg["plugins"].append({"name": "cred-auth"})
    gw = await gateway.start(cfg, plugins_dirs=[PLUGINS])
    assert await statuses(gw, "/a", 2, headers={"X-Consumer": "alice"}) == [200, 429]
    assert await statuses(gw, "/a", 2, headers={"X-Consumer": "bob"}) == [200, 200]


async def test_sliding_window_limits_requests(gateway, mock_upstream):
    await away_from_edge(3600)
    conf = {"hour": 2, "strategy": "sliding_window"}
    gw = await gateway.start(config(mock_upstream, conf), plugins_dirs=[])
    resp = await gw.get("/a")
    assert resp.status == 200
    # the previous hour is empty: the estimate is this hour's count
    assert resp.headers["X-RateLimit-Remaining-Hour"] == "1"
    assert await statuses(gw, "/a", 2) == [200, 429]


async def test_doc_example(gateway, mock_upstream):
    await away_from_edge(60)
    gw = await gateway.start(example_config("rate-limiting", mock_upstream.url), plugins_dirs=[])
    results = await statuses(gw, "/demo", 6)
    assert results == [200] * 5 + [429]
