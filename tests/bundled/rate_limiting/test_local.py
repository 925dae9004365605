"""rate-limiting with `policy: local` through real requests: headers, 429, limit_by, scopes."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.bundled.docs import example_config
from tests.bundled.rate_limiting._util import PLUGINS, away_from_edge, config, statuses
from tests.conftest import service

LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After")


async def test_headers_count_down_then_429_with_retry_after(make_gateway, echo_upstream, http):
    await away_from_edge(60)
    gw = await make_gateway(config(echo_upstream, {"minute": 3, "hour": 10}), plugins_dirs=[])
    seen = []
    for _ in range(3):
        async with http.get(gw.url + "/a") as resp:
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
    async with http.get(gw.url + "/a") as resp:
        assert resp.status == 429
        assert (await resp.json())["message"] == "API rate limit exceeded"
        h = resp.headers
        assert h["RateLimit-Remaining"] == "0" and h["X-RateLimit-Remaining-Minute"] == "0"
        # the refused request is not counted in the hour
        assert h["X-RateLimit-Limit-Hour"] == "10" and h["X-RateLimit-Remaining-Hour"] == "7"
        assert h["Retry-After"] == h["RateLimit-Reset"]
        assert 1 <= int(h["Retry-After"]) <= 60


async def test_equal_remaining_reports_the_longer_window(make_gateway, echo_upstream, http):
    await away_from_edge(60)
    gw = await make_gateway(config(echo_upstream, {"minute": 2, "day": 2}), plugins_dirs=[])
    async with http.get(gw.url + "/a") as resp:
        assert resp.headers["RateLimit-Remaining"] == "1"
        # the day's reset, not the minute's
        assert int(resp.headers["RateLimit-Reset"]) > 60 or time.time() % 86400 > 86340


async def test_second_window_resets(make_gateway, echo_upstream, http):
    gw = await make_gateway(config(echo_upstream, {"second": 1}), plugins_dirs=[])
    for _ in range(50):  # until two requests land in one second
        first = await statuses(http, gw.url + "/a", 2)
        if first == [200, 429]:
            break
    else:
        pytest.fail("never limited")
    async with http.get(gw.url + "/a") as resp:
        if resp.status == 429:
            assert resp.headers["Retry-After"] == "1"
    await asyncio.sleep(1.05)
    assert await statuses(http, gw.url + "/a", 1) == [200]


async def test_hide_client_headers(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    gw = await make_gateway(config(echo_upstream, {"hour": 1, "hide_client_headers": True}), plugins_dirs=[])
    for expected in (200, 429):
        async with http.get(gw.url + "/a") as resp:
            assert resp.status == expected
            assert not [
                k for k in resp.headers if k.lower().startswith(("ratelimit", "x-ratelimit", "retry"))
            ]


async def test_custom_error_code_and_message(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    conf = {"hour": 1, "error_code": 503, "error_message": "slow down"}
    gw = await make_gateway(config(echo_upstream, conf), plugins_dirs=[])
    assert await statuses(http, gw.url + "/a", 1) == [200]
    async with http.get(gw.url + "/a") as resp:
        assert resp.status == 503
        assert (await resp.json())["message"] == "slow down"
        assert "Retry-After" in resp.headers


async def test_limit_by_ip_default_shares_routes_of_a_global_plugin(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    gw = await make_gateway(config(echo_upstream, {"hour": 2}), plugins_dirs=[])
    # no consumer: limit_by consumer falls back to the client IP
    assert await statuses(http, gw.url + "/a", 1) == [200]
    assert await statuses(http, gw.url + "/b", 2) == [200, 429]


async def test_route_scoped_plugins_count_separately(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    cfg = config(echo_upstream, {"hour": 1})
    plugin = cfg.pop("plugins")[0]
    for route in cfg["services"][0]["routes"]:
        route["plugins"] = [plugin]
    gw = await make_gateway(cfg, plugins_dirs=[])
    assert await statuses(http, gw.url + "/a", 2) == [200, 429]
    assert await statuses(http, gw.url + "/b", 2) == [200, 429]


async def test_limit_by_header_and_fallback(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    conf = {"hour": 1, "limit_by": "header", "header_name": "X-Tenant"}
    gw = await make_gateway(config(echo_upstream, conf), plugins_dirs=[])
    assert await statuses(http, gw.url + "/a", 2, headers={"X-Tenant": "t1"}) == [200, 429]
    assert await statuses(http, gw.url + "/a", 1, headers={"X-Tenant": "t2"}) == [200]
    # without the header the client IP is the identifier
    assert await statuses(http, gw.url + "/a", 2) == [200, 429]


async def test_limit_by_path(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    conf = {"hour": 1, "limit_by": "path", "path": "/a"}
    gw = await make_gateway(config(echo_upstream, conf), plugins_dirs=[])
    assert await statuses(http, gw.url + "/a", 2) == [200, 429]
    # another path is counted by client IP, apart from /a
    assert await statuses(http, gw.url + "/b", 2) == [200, 429]


async def test_limit_by_service(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    cfg = config(echo_upstream, {"hour": 1, "limit_by": "service"})
    cfg["services"].append({**service(echo_upstream, name="other"), "routes": [{"paths": ["/c"]}]})
    gw = await make_gateway(cfg, plugins_dirs=[])
    assert await statuses(http, gw.url + "/a", 1) == [200]
    assert await statuses(http, gw.url + "/b", 1) == [429]  # same service
    assert await statuses(http, gw.url + "/c", 2) == [200, 429]


async def test_limit_by_consumer_then_credential_then_ip(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    cfg = config(echo_upstream, {"hour": 1})
    cfg["plugins"].append({"name": "cred-auth"})
    gw = await make_gateway(cfg, plugins_dirs=[PLUGINS])
    assert await statuses(http, gw.url + "/a", 2, headers={"X-Consumer": "alice"}) == [200, 429]
    assert await statuses(http, gw.url + "/a", 1, headers={"X-Consumer": "bob"}) == [200]
    # a credential without a consumer: the credential's id
    assert await statuses(http, gw.url + "/a", 2, headers={"X-Credential": "c1"}) == [200, 429]
    # anonymous: the IP
    assert await statuses(http, gw.url + "/a", 2) == [200, 429]


async def test_limit_by_credential(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    cfg = config(echo_upstream, {"hour": 1, "limit_by": "credential"})
    cfg["plugins"].append({"name": "cred-auth"})
    gw = await make_gateway(cfg, plugins_dirs=[PLUGINS])
    hdrs = {"X-Consumer": "alice", "X-Credential": "k1"}
    assert await statuses(http, gw.url + "/a", 2, headers=hdrs) == [200, 429]
    # the same consumer with another credential has its own counter
    assert await statuses(http, gw.url + "/a", 1, headers={**hdrs, "X-Credential": "k2"}) == [200]
    # a consumer without credential: the IP
    assert await statuses(http, gw.url + "/a", 2, headers={"X-Consumer": "bob"}) == [200, 429]


async def test_consumer_scoped_config(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    cfg = config(echo_upstream, {"hour": 5})
    cfg["consumers"][0]["plugins"] = [{"name": "rate-limiting", "config": {"hour": 1}}]
    cfg["plugins"].append({"name": "cred-auth"})
    gw = await make_gateway(cfg, plugins_dirs=[PLUGINS])
    assert await statuses(http, gw.url + "/a", 2, headers={"X-Consumer": "alice"}) == [200, 429]
    assert await statuses(http, gw.url + "/a", 2, headers={"X-Consumer": "bob"}) == [200, 200]


async def test_sliding_window_limits_requests(make_gateway, echo_upstream, http):
    await away_from_edge(3600)
    conf = {"hour": 2, "strategy": "sliding_window"}
    gw = await make_gateway(config(echo_upstream, conf), plugins_dirs=[])
    async with http.get(gw.url + "/a") as resp:
        assert resp.status == 200
        # the previous hour is empty: the estimate is this hour's count
        assert resp.headers["X-RateLimit-Remaining-Hour"] == "1"
    assert await statuses(http, gw.url + "/a", 2) == [200, 429]


async def test_doc_example(make_gateway, echo_upstream, http):
    await away_from_edge(60)
    gw = await make_gateway(example_config("rate-limiting", echo_upstream.url), plugins_dirs=[])
    results = await statuses(http, gw.url + "/demo", 6)
    assert results == [200] * 5 + [429]
