"""Entity endpoints through a real Admin listener: status codes, bodies, nesting, errors."""

from __future__ import annotations

from typing import Any

from tests.conftest import service


async def _json(resp: Any) -> Any:
    return await resp.json(content_type=None)


async def test_create_read_update_delete_a_service_and_its_route(make_admin, http, echo_upstream) -> None:
    gw = await make_admin()
    a = gw.admin
    resp = await http.post(f"{a}/services", json=service(echo_upstream, "orders"))
    assert resp.status == 201
    svc = await _json(resp)
    assert svc["name"] == "orders" and svc["retries"] == 5 and svc["path"] is None  # defaults, nulls
    assert isinstance(svc["created_at"], int) and svc["created_at"] > 0
    resp = await http.post(f"{a}/services/orders/routes", json={"name": "r", "paths": ["/orders"]})
    assert resp.status == 201
    route = await _json(resp)
    assert route["service"] == {"id": svc["id"]}
    assert (await http.get(f"{gw.url}/orders/1")).status == 200  # the proxy follows at once

    for path in (f"/services/{svc['id']}", "/services/orders", f"/routes/{route['id']}/service"):
        resp = await http.get(a + path)
        assert resp.status == 200 and (await _json(resp))["id"] == svc["id"], path
    listed = await _json(await http.get(f"{a}/services/orders/routes"))
    assert [r["id"] for r in listed["data"]] == [route["id"]] and listed["next"] is None

    resp = await http.patch(f"{a}/routes/r", json={"paths": ["/v2"]})
    assert resp.status == 200 and (await _json(resp))["paths"] == ["/v2"]
    assert (await http.get(f"{gw.url}/orders/1")).status == 404
    assert (await http.get(f"{gw.url}/v2")).status == 200

    resp = await http.delete(f"{a}/services/orders")  # a route still refers to it
    assert resp.status == 400
    assert await _json(resp) == {
        "code": 4,
        "name": "foreign key violation",
        "message": "an existing 'routes' entity references this 'services' entity",
        "fields": {"@referenced_by": "routes"},
    }
    assert (await http.delete(f"{a}/routes/r")).status == 204
    assert (await http.delete(f"{a}/routes/r")).status == 204  # idempotent
    assert (await http.delete(f"{a}/services/orders")).status == 204
    resp = await http.get(f"{a}/services/orders")
    assert resp.status == 404 and await _json(resp) == {"message": "Not found"}
    assert (await http.get(f"{gw.url}/v2")).status == 404


async def test_put_upserts_by_name_and_keeps_the_id(make_admin, http, echo_upstream) -> None:
    gw = await make_admin()
    resp = await http.put(f"{gw.admin}/services/billing", json={"url": echo_upstream.url})
    assert resp.status == 200
    first = await _json(resp)
    assert first["name"] == "billing"
    resp = await http.put(f"{gw.admin}/services/billing", json={"host": "example.com"})
    second = await _json(resp)
    assert second["id"] == first["id"] and second["host"] == "example.com"
    assert second["port"] == 80  # a full replace: omitted fields back to their defaults
    resp = await http.put(f"{gw.admin}/services/billing", json={"name": "other", "host": "x.org"})
    assert resp.status == 400 and (await _json(resp))["fields"] == {"name": "must match the value in the URL"}


async def test_patch_merges_a_plugin_config(make_admin, http) -> None:
    gw = await make_admin()
    resp = await http.post(
        f"{gw.admin}/plugins", json={"name": "rate-limiting", "config": {"minute": 5, "hour": 100}}
    )
    assert resp.status == 201, await resp.text()
    plugin = await _json(resp)
    resp = await http.patch(f"{gw.admin}/plugins/{plugin['id']}", json={"config": {"minute": 10}})
    assert resp.status == 200
    config = (await _json(resp))["config"]
    assert config["minute"] == 10 and config["hour"] == 100


async def test_errors_have_kongs_shapes(make_admin, http, echo_upstream) -> None:
    gw = await make_admin()
    a = gw.admin
    resp = await http.post(f"{a}/services", json={"name": "s", "host": 5, "port": 70000})
    assert resp.status == 400
    body = await _json(resp)
    assert body["code"] == 2 and body["name"] == "schema violation"
    assert body["fields"] == {"host": "expected a string", "port": "value should be between 0 and 65535"}
    assert body["message"].startswith("2 schema violations (")

    await http.post(f"{a}/services", json=service(echo_upstream, "s"))
    resp = await http.post(f"{a}/services", json=service(echo_upstream, "s"))
    assert resp.status == 409
    assert await _json(resp) == {
        "code": 5,
        "name": "unique constraint violation",
        "message": "UNIQUE violation detected on '{name=\"s\"}'",
        "fields": {"name": "s"},
    }
    missing = "8e1f1a8c-0000-4000-8000-000000000000"
    resp = await http.post(f"{a}/routes", json={"paths": ["/x"], "service": {"id": missing}})
    assert resp.status == 400
    body = await _json(resp)
    assert body["code"] == 4 and body["name"] == "foreign key violation"
    assert (
        body["message"]
        == f"the foreign key '{{id=\"{missing}\"}}' does not reference an existing 'services' entity."
    )

    resp = await http.post(f"{a}/plugins", json={"name": "no-such-plugin"})
    body = await _json(resp)
    assert resp.status == 400 and body["fields"] == {
        "name": "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property"
    }
    resp = await http.post(f"{a}/routes", json={"paths": ["relative"]})
    assert resp.status == 400 and "paths" in (await _json(resp))["fields"]
    resp = await http.request("PATCH", f"{a}/services")
    assert resp.status == 405 and await _json(resp) == {"message": "Method not allowed"}
    resp = await http.get(f"{a}/nothing-here")
    assert resp.status == 404 and await _json(resp) == {"message": "Not found"}
    resp = await http.post(f"{a}/services", data=b"name=x", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    # nothing of the refused writes was applied
    listed = await _json(await http.get(f"{a}/services"))
    assert [s["name"] for s in listed["data"]] == ["s"]


async def test_form_bodies_are_typed_by_the_schema(make_admin, http) -> None:
    gw = await make_admin()
    form = "name=formed&host=example.com&port=8080&retries=2&tags[]=a&tags[]=b"
    resp = await http.post(
        f"{gw.admin}/services", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 201, await resp.text()
    svc = await _json(resp)
    assert (svc["port"], svc["retries"], svc["tags"]) == (8080, 2, ["a", "b"])


async def test_pagination_and_tags(make_admin, http) -> None:
    gw = await make_admin()
    for i in range(5):
        tags = ["even"] if i % 2 == 0 else ["odd"]
        resp = await http.post(f"{gw.admin}/consumers", json={"username": f"u{i}", "tags": [*tags, "all"]})
        assert resp.status == 201
    seen: list[str] = []
    url = f"{gw.admin}/consumers?size=2"
    pages = 0
    while url:
        body = await _json(await http.get(url))
        assert len(body["data"]) <= 2
        seen += [c["username"] for c in body["data"]]
        pages += 1
        url = f"{gw.admin}{body['next']}" if body["next"] else ""
        assert ("offset" in body) == bool(url)
    assert pages == 3 and sorted(seen) == [f"u{i}" for i in range(5)]
    even = await _json(await http.get(f"{gw.admin}/consumers?tags=even"))
    assert sorted(c["username"] for c in even["data"]) == ["u0", "u2", "u4"]
    both = await _json(await http.get(f"{gw.admin}/consumers?tags=even,odd"))
    assert both["data"] == []
    either = await _json(await http.get(f"{gw.admin}/consumers?tags=even/odd"))
    assert len(either["data"]) == 5
    resp = await http.get(f"{gw.admin}/consumers?size=0")
    assert resp.status == 400 and (await _json(resp))["code"] == 9
    resp = await http.get(f"{gw.admin}/consumers?offset=%%%")
    assert resp.status == 400 and (await _json(resp))["code"] == 7


async def test_credentials_nested_under_consumers(make_admin, http) -> None:
    gw = await make_admin()
    a = gw.admin
    await http.post(f"{a}/consumers", json={"username": "alice"})
    resp = await http.post(f"{a}/consumers/alice/key-auth", json={"key": "secret-1"})
    assert resp.status == 201, await resp.text()
    cred = await _json(resp)
    assert (await http.get(f"{a}/key-auths/{cred['id']}")).status == 200
    listed = await _json(await http.get(f"{a}/consumers/alice/key-auth"))
    assert [c["key"] for c in listed["data"]] == ["secret-1"]
    resp = await http.post(f"{a}/consumers/alice/basic-auth", json={"username": "al", "password": "pw"})
    assert resp.status == 201
    assert (await _json(resp))["password"] != "pw"  # hashed like Kong (sha1 with the consumer id)
    resp = await http.post(f"{a}/consumers/alice/acls", json={"group": "admins"})
    assert resp.status == 201
    assert (await http.get(f"{a}/consumers/alice/acls/admins")).status == 200
    assert (await http.delete(f"{a}/consumers/alice")).status == 204  # credentials go with it
    assert (await _json(await http.get(f"{a}/key-auths")))["data"] == []
