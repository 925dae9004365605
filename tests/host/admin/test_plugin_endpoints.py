"""Plugins' own Admin API endpoints (Kong's plugin api.lua): proxy-cache's purge."""

from __future__ import annotations

from tests.conftest import service


async def test_proxy_cache_purge_through_the_admin_api(make_admin, http, echo_upstream) -> None:
    config = {
        "_format_version": "3.0",
        "services": [service(echo_upstream, routes=[{"name": "r", "paths": ["/"]}])],
        "plugins": [
            {"name": "proxy-cache", "config": {"strategy": "memory", "content_type": ["application/json; charset=utf-8"]}}
        ],
    }
    gw = await make_admin(config)

    async def status() -> tuple[str, str]:
        async with http.get(f"{gw.url}/cached") as resp:
            return resp.headers["X-Cache-Status"], resp.headers["X-Cache-Key"]

    first, key = await status()
    assert first == "Miss" and (await status())[0] == "Hit"
    async with http.get(f"{gw.admin}/proxy-cache/{key}") as resp:
        assert resp.status == 200
    async with http.delete(f"{gw.admin}/proxy-cache") as resp:
        assert resp.status == 204
    assert (await status())[0] == "Miss"
    async with http.delete(f"{gw.admin}/proxy-cache/{key}") as resp:
        assert resp.status == 204
    async with http.get(f"{gw.admin}/proxy-cache/{key}") as resp:
        assert resp.status == 404
