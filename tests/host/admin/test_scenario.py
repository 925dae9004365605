"""Issue 7 point 4: a whole scenario only through the Admin API; the proxy follows each step."""

from __future__ import annotations

from tests.conftest import service


async def test_key_auth_and_rate_limiting_driven_by_the_admin_api(make_admin, http, echo_upstream) -> None:
    gw = await make_admin()
    a = gw.admin

    async def call(key: str | None = None) -> int:
        headers = {"apikey": key} if key else {}
        async with http.get(f"{gw.url}/shop/items", headers=headers) as resp:
            return resp.status

    assert (await http.post(f"{a}/services", json=service(echo_upstream, "shop"))).status == 201
    resp = await http.post(f"{a}/services/shop/routes", json={"name": "shop-route", "paths": ["/shop"]})
    assert resp.status == 201
    assert await call() == 200  # open route
    assert (await http.post(f"{a}/consumers", json={"username": "alice"})).status == 201
    resp = await http.post(f"{a}/consumers/alice/key-auth", json={"key": "alice-key"})
    assert resp.status == 201
    resp = await http.post(f"{a}/routes/shop-route/plugins", json={"name": "key-auth"})
    assert resp.status == 201, await resp.text()
    resp = await http.post(
        f"{a}/routes/shop-route/plugins",
        json={"name": "rate-limiting", "config": {"minute": 3, "policy": "local"}},
    )
    assert resp.status == 201, await resp.text()
    limiter = await resp.json()

    assert await call() == 401  # no key
    assert await call("wrong") == 401
    statuses = [await call("alice-key") for _ in range(4)]
    assert statuses == [200, 200, 200, 429]

    resp = await http.patch(f"{a}/plugins/{limiter['id']}", json={"config": {"minute": 10}})
    assert resp.status == 200 and (await resp.json())["config"]["minute"] == 10
    assert await call("alice-key") == 200  # the new limit applies without a restart

    assert (await http.delete(f"{a}/routes/shop-route/plugins/{limiter['id']}")).status == 204
    assert [await call("alice-key") for _ in range(12)] == [200] * 12  # no limit any more
    assert await call() == 401  # key-auth still there
