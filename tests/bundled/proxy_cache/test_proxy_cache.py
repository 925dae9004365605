"""proxy-cache through real requests: hits, misses, bypasses, keys, TTLs and coalescing."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from host.testing import MockUpstream
from py_plugins.proxy_cache._store import INFLIGHT
from tests.bundled.proxy_cache._upstream import CountingUpstream


@pytest.fixture
def counter(mock_upstream: MockUpstream) -> CountingUpstream:
    """The gateway fixture's upstream answering as the counting upstream does
    (tests/bundled/proxy_cache/_upstream.py); ``counter.hits`` counts per path."""
    counting = CountingUpstream()
    mock_upstream.route("/", counting.handle)
    return counting


def cache_config(upstream: MockUpstream, **config: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "svc",
                "url": upstream.url,
                "routes": [{"name": "r", "paths": ["/"]}],
                "plugins": [{"name": "proxy-cache", "config": {"strategy": "memory", **config}}],
            }
        ],
    }


async def get(gw: Any, path: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    resp = await gw.get(path, **kwargs)
    return resp.status, dict(resp.headers), resp.body


async def test_miss_then_hit_without_the_upstream(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream))
    status, headers, body = await get(gw, "/a")
    assert (status, headers["X-Cache-Status"], body) == (200, "Miss", b"/a #1")
    assert "Age" not in headers
    status, hit, body = await get(gw, "/a")
    assert (status, hit["X-Cache-Status"], body) == (200, "Hit", b"/a #1")
    assert hit["X-Cache-Key"] == headers["X-Cache-Key"]
    assert hit["Age"] == "0"
    assert hit["Content-Type"] == "text/plain"
    assert hit["X-Count"] == "1"  # the stored upstream headers
    assert hit["Content-Length"] == "5"
    for _ in range(5):
        assert (await get(gw, "/a"))[2] == b"/a #1"
    assert counter.hits["/a"] == 1


async def test_cache_key_is_kongs(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream, vary_headers=["X-Lang"]))
    route = next(r for r in gw.gateway.snapshot.config.routes if r["name"] == "r")
    _, headers, _ = await get(gw, "/p?b=2&a=1&a=0&flag", headers={"X-Lang": "fr"})
    raw = f"{route['id']}|GET|GET /p|a=0,1:b=2:flag|X-Lang=fr"
    assert headers["X-Cache-Key"] == hashlib.sha256(raw.encode()).hexdigest()
    _, headers, _ = await get(gw, "/p")
    raw = f"{route['id']}|GET|GET /p HTTP/1.1||"
    assert headers["X-Cache-Key"] == hashlib.sha256(raw.encode()).hexdigest()


async def test_consumer_is_part_of_the_key(gateway, mock_upstream, counter):
    config = cache_config(mock_upstream)
    config["services"][0]["plugins"].append({"name": "auth-header"})
    config["consumers"] = [{"username": "alice"}, {"username": "bob"}]
    gw = await gateway.start(config)
    _, a, _ = await get(gw, "/c", headers={"X-Consumer": "alice"})
    _, b, body = await get(gw, "/c", headers={"X-Consumer": "bob"})
    assert a["X-Cache-Key"] != b["X-Cache-Key"]
    assert (b["X-Cache-Status"], body) == ("Miss", b"/c #2")
    _, again, body = await get(gw, "/c", headers={"X-Consumer": "alice"})
    assert (again["X-Cache-Status"], body) == ("Hit", b"/c #1")


async def test_bypass_for_methods_codes_and_types(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream, response_code=[200]))
    resp = await gw.post("/post")
    assert resp.headers["X-Cache-Status"] == "Bypass"
    assert "X-Cache-Key" not in resp.headers
    for query in ("status=404", "ct=text/html", "ct=text/plain;charset=utf-8"):
        _, headers, _ = await get(gw, f"/b?{query}")
        assert headers["X-Cache-Status"] == "Bypass", query
        _, headers, _ = await get(gw, f"/b?{query}")
        assert headers["X-Cache-Status"] == "Bypass", query
    assert counter.hits["/b"] == 6


async def test_request_method_and_content_type_lists(gateway, mock_upstream, counter):
    config = cache_config(mock_upstream, request_method=["POST"], content_type=["text/*"])
    gw = await gateway.start(config)
    for _ in range(2):
        resp = await gw.post("/m?ct=text/csv")
        last = (resp.headers["X-Cache-Status"], resp.body)
    assert last == ("Hit", b"/m #1")
    _, headers, _ = await get(gw, "/m?ct=text/csv")
    assert headers["X-Cache-Status"] == "Bypass"


async def test_cache_ttl_refresh(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream, cache_ttl=1, storage_ttl=30))
    assert (await get(gw, "/t"))[1]["X-Cache-Status"] == "Miss"
    assert (await get(gw, "/t"))[1]["X-Cache-Status"] == "Hit"
    await asyncio.sleep(2.1)
    _, headers, body = await get(gw, "/t")
    assert (headers["X-Cache-Status"], body) == ("Refresh", b"/t #2")
    _, headers, body = await get(gw, "/t")
    assert (headers["X-Cache-Status"], body) == ("Hit", b"/t #2")


async def test_vary_query_params_and_all_params_by_default(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream, vary_query_params=["page"]))
    await get(gw, "/q?page=1&noise=a")
    _, headers, body = await get(gw, "/q?noise=b&page=1")
    assert (headers["X-Cache-Status"], body) == ("Hit", b"/q #1")
    _, headers, _ = await get(gw, "/q?page=2")
    assert headers["X-Cache-Status"] == "Miss"


async def test_all_query_params_count_without_vary(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream))
    await get(gw, "/q?a=1&b=2")
    assert (await get(gw, "/q?b=2&a=1"))[1]["X-Cache-Status"] == "Hit"
    assert (await get(gw, "/q?a=1&b=3"))[1]["X-Cache-Status"] == "Miss"


async def test_vary_headers(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream, vary_headers=["Accept-Language"]))
    await get(gw, "/h", headers={"Accept-Language": "en"})
    assert (await get(gw, "/h", headers={"accept-language": "en"}))[1]["X-Cache-Status"] == "Hit"
    assert (await get(gw, "/h", headers={"Accept-Language": "de"}))[1]["X-Cache-Status"] == "Miss"
    # headers not listed are not part of the key
    assert (await get(gw, "/h", headers={"Accept-Language": "en", "X-Other": "1"}))[1][
        "X-Cache-Status"
    ] == "Hit"


async def test_ignore_uri_case(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream, ignore_uri_case=True))
    await get(gw, "/Case")
    _, headers, body = await get(gw, "/CASE")
    assert (headers["X-Cache-Status"], body) == ("Hit", b"/Case #1")


async def test_uri_case_matters_by_default(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream))
    await get(gw, "/Case")
    assert (await get(gw, "/CASE"))[1]["X-Cache-Status"] == "Miss"


async def test_cache_control_on(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream, cache_control=True))
    # no freshness information: a resource TTL of 0 is not cacheable
    assert (await get(gw, "/n"))[1]["X-Cache-Status"] == "Bypass"
    for cc in ("private,max-age=60", "no-store", "no-cache"):
        assert (await get(gw, f"/p?cc={cc}"))[1]["X-Cache-Status"] == "Bypass", cc
    url = "/ok?cc=max-age%3D60"
    assert (await get(gw, url))[1]["X-Cache-Status"] == "Miss"
    assert (await get(gw, url))[1]["X-Cache-Status"] == "Hit"
    # the client's own directives
    assert (await get(gw, url, headers={"Cache-Control": "no-store"}))[1]["X-Cache-Status"] == "Bypass"
    assert (await get(gw, url, headers={"Authorization": "x"}))[1]["X-Cache-Status"] == "Bypass"
    await asyncio.sleep(1.1)
    _, headers, _ = await get(gw, url, headers={"Cache-Control": "max-age=0"})
    assert headers["X-Cache-Status"] == "Refresh"
    assert counter.hits["/ok"] == 4  # miss, two bypasses, refresh
    status, _, _ = await get(gw, "/never", headers={"Cache-Control": "only-if-cached"})
    assert status == 504
    assert counter.hits["/never"] == 0
    # Expires gives a TTL too
    url = "/exp?expires=60"
    assert (await get(gw, url))[1]["X-Cache-Status"] == "Miss"
    assert (await get(gw, url))[1]["X-Cache-Status"] == "Hit"


async def test_cache_control_off_ignores_directives(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream))
    url = "/off?cc=no-store"
    await get(gw, url)
    assert (await get(gw, url, headers={"Cache-Control": "no-cache"}))[1]["X-Cache-Status"] == "Hit"


async def test_response_headers_toggles_and_kong_debug(gateway, mock_upstream, counter):
    off = {"age": False, "X-Cache-Status": False, "X-Cache-Key": False}
    gw = await gateway.start(cache_config(mock_upstream, response_headers=off))
    for _ in range(2):
        _, headers, body = await get(gw, "/d")
        assert not {"Age", "X-Cache-Status", "X-Cache-Key"} & set(headers)
    assert body == b"/d #1"
    _, headers, _ = await get(gw, "/d", headers={"Kong-Debug": "1"})
    assert headers["X-Cache-Status"] == "Hit" and "Age" in headers and "X-Cache-Key" in headers


async def test_concurrent_misses_make_one_upstream_request(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream))
    results = await asyncio.gather(*(get(gw, "/slow?delay=300") for _ in range(10)))
    assert counter.hits["/slow"] == 1
    assert {body for _, _, body in results} == {b"/slow #1"}
    statuses = sorted(headers["X-Cache-Status"] for _, headers, _ in results)
    assert statuses == ["Hit"] * 9 + ["Miss"]
    assert len(INFLIGHT) == 0


async def test_waiters_go_upstream_when_the_leader_cannot_store(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream))
    results = await asyncio.gather(*(get(gw, "/err?delay=200&status=500") for _ in range(4)))
    assert {headers["X-Cache-Status"] for _, headers, _ in results} == {"Bypass"}
    assert counter.hits["/err"] == 4
    assert len(INFLIGHT) == 0


async def test_upstream_failure_releases_waiters(gateway):
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "dead",
                "url": "http://127.0.0.1:9",
                "routes": [{"name": "r", "paths": ["/"]}],
                "plugins": [{"name": "proxy-cache", "config": {"strategy": "memory"}}],
            }
        ],
    }
    gw = await gateway.start(config)
    results = await asyncio.gather(*(get(gw, "/x") for _ in range(3)))
    assert {status for status, _, _ in results} == {502}
    assert len(INFLIGHT) == 0


async def test_hit_for_head_and_get_are_separate(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream))
    resp = await gw.request("HEAD", "/hd")
    assert resp.headers["X-Cache-Status"] == "Miss"
    resp = await gw.request("HEAD", "/hd")
    assert resp.headers["X-Cache-Status"] == "Hit"
    assert (await get(gw, "/hd"))[1]["X-Cache-Status"] == "Miss"
