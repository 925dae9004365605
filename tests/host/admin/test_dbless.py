"""DB-less mode: read-only entities, POST /config replaces everything, persisted for the other workers."""

from __future__ import annotations

import asyncio

import yaml

from host.store import DeclarativeStore
from tests.conftest import service, wait_until


def _config(upstream, path: str = "/a") -> dict:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"name": "r", "paths": [path]}]}],
    }


async def test_entity_writes_are_405_and_reads_work(make_admin, http, echo_upstream) -> None:
    gw = await make_admin(_config(echo_upstream), database="off")
    listed = await (await http.get(f"{gw.admin}/routes")).json()
    assert [r["name"] for r in listed["data"]] == ["r"]
    cases = [
        ("POST", "/services", "create"),
        ("PUT", "/services/echo", "create or update"),
        ("PATCH", "/services/echo", "update"),
        ("DELETE", "/services/echo", "remove"),
    ]
    for method, path, verb in cases:
        resp = await http.request(method, gw.admin + path, json={"host": "x.org"})
        assert resp.status == 405, (method, path)
        assert await resp.json() == {
            "code": 12,
            "name": "operation unsupported",
            "message": f"cannot {verb} 'services' entities when not using a database",
        }


async def test_post_config_replaces_atomically(make_admin, http, echo_upstream, tmp_path) -> None:
    store = DeclarativeStore(tmp_path / "declarative.json")
    gw = await make_admin(_config(echo_upstream), database="off", store=store)
    assert (await http.get(f"{gw.url}/a")).status == 200
    new = yaml.safe_dump(_config(echo_upstream, "/b"))
    resp = await http.post(f"{gw.admin}/config", data=new, headers={"Content-Type": "text/yaml"})
    assert resp.status == 201
    assert [r["paths"] for r in (await resp.json())["routes"]] == [["/b"]]
    assert (await http.get(f"{gw.url}/a")).status == 404
    assert (await http.get(f"{gw.url}/b")).status == 200
    assert (tmp_path / "declarative.json").exists()  # persisted for the other workers and restarts

    resp = await http.post(f"{gw.admin}/config?check_hash=1", data=new)
    assert resp.status == 304

    bad = {"_format_version": "3.0", "services": [{"name": "x", "port": "nope"}]}
    resp = await http.post(f"{gw.admin}/config", json=bad)
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == 14 and body["name"] == "invalid declarative configuration"
    assert body["fields"]["services[0]"]["host"] == "required field missing"
    assert (await http.get(f"{gw.url}/b")).status == 200  # the old config keeps serving
    resp = await http.post(f"{gw.admin}/config", data=b"")
    assert resp.status == 400 and (await resp.json())["message"] == "expected a declarative configuration"

    exported = yaml.safe_load((await (await http.get(f"{gw.admin}/config")).json())["config"])
    assert exported["_format_version"] == "3.0" and exported["_transform"] is False
    assert [r["paths"] for r in exported["routes"]] == [["/b"]]


async def test_another_worker_picks_up_post_config(make_admin, http, echo_upstream, tmp_path) -> None:
    path = tmp_path / "declarative.json"
    one = await make_admin(_config(echo_upstream), database="off", store=DeclarativeStore(path), worker_id=0)
    two = await make_admin(
        _config(echo_upstream),
        database="off",
        store=DeclarativeStore(path),
        db_update_frequency=0.05,
        worker_id=1,
    )
    resp = await http.post(f"{one.admin}/config", json=_config(echo_upstream, "/c"))
    assert resp.status == 201
    await wait_until(lambda: "/c" in str(two.gateway.snapshot.config.routes), timeout=5)
    assert (await http.get(f"{two.url}/c")).status == 200


async def test_a_gateway_on_its_own_does_not_follow_a_shared_prefix_file(
    make_admin, http, echo_upstream, tmp_path
) -> None:
    """Two separate DB-less gateways that happen to share a prefix keep their own configs."""
    path = tmp_path / "declarative.json"
    one = await make_admin(_config(echo_upstream), database="off", store=DeclarativeStore(path))
    two = await make_admin(
        _config(echo_upstream), database="off", store=DeclarativeStore(path), db_update_frequency=0.05
    )
    resp = await http.post(f"{one.admin}/config", json=_config(echo_upstream, "/c"))
    assert resp.status == 201
    await asyncio.sleep(0.3)
    assert "/c" not in str(two.gateway.snapshot.config.routes)
    assert (await http.get(f"{one.url}/c")).status == 200
