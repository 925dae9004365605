"""Node endpoints: GET /, /status, /plugins/enabled, schemas, upstream health."""

from __future__ import annotations


async def test_root_status_and_enabled_plugins(make_admin, http) -> None:
    gw = await make_admin({"_format_version": "3.0", "plugins": [{"name": "tagger", "config": {"tag": "t"}}]})
    root = await (await http.get(f"{gw.admin}/")).json()
    assert root["version"] == "3.10.0" and root["node_id"] == gw.gateway.settings.node_id
    assert root["plugins"]["enabled_in_cluster"] == ["tagger"]
    assert root["plugins"]["available_on_server"]["tagger"] == {"version": "1.2.3", "priority": 900}
    assert root["configuration"]["admin_listen"] == ["127.0.0.1:0"]
    status = await (await http.get(f"{gw.admin}/status")).json()
    assert status["configuration_hash"] == gw.gateway.snapshot.hash
    enabled = await (await http.get(f"{gw.admin}/plugins/enabled")).json()
    assert "tagger" in enabled["enabled_plugins"] and "schema-demo" in enabled["enabled_plugins"]


async def test_plugin_schemas_lua_and_python(make_admin, http) -> None:
    gw = await make_admin()
    lua = await (await http.get(f"{gw.admin}/schemas/plugins/schema-demo")).json()
    names = [next(iter(f)) for f in lua["fields"]]
    assert "config" in names
    py = await (await http.get(f"{gw.admin}/schemas/plugins/tagger")).json()
    config = next(f["config"] for f in py["fields"] if "config" in f)
    assert config["fields"] == [{"tag": {"type": "string", "required": True}}]
    resp = await http.get(f"{gw.admin}/schemas/plugins/nope")
    assert resp.status == 404

    ok = await http.post(
        f"{gw.admin}/schemas/plugins/validate", json={"name": "tagger", "config": {"tag": "x"}}
    )
    assert ok.status == 200 and await ok.json() == {"message": "schema validation successful"}
    bad = await http.post(f"{gw.admin}/schemas/plugins/validate", json={"name": "tagger", "config": {}})
    assert bad.status == 400
    assert (await bad.json())["fields"] == {"config": {"tag": "required field missing"}}


async def test_upstream_health_shape(make_admin, http) -> None:
    config = {
        "_format_version": "3.0",
        "upstreams": [{"name": "up", "targets": [{"target": "127.0.0.1:9", "weight": 10}]}],
    }
    gw = await make_admin(config)
    body = await (await http.get(f"{gw.admin}/upstreams/up/health")).json()
    assert body["node_id"] == gw.gateway.settings.node_id
    assert [t["target"] for t in body["data"]] == ["127.0.0.1:9"]
    assert body["data"][0]["health"] in ("HEALTHCHECKS_OFF", "HEALTHY")
    assert (await http.get(f"{gw.admin}/upstreams/nope/health")).status == 404
    resp = await http.post(f"{gw.admin}/upstreams/up/targets", json={"target": "127.0.0.1:10"})
    assert resp.status == 201, await resp.text()
    listed = await (await http.get(f"{gw.admin}/upstreams/up/targets")).json()
    assert sorted(t["target"] for t in listed["data"]) == ["127.0.0.1:10", "127.0.0.1:9"]
    assert (await http.get(f"{gw.admin}/upstreams/up/targets/127.0.0.1:10")).status == 200
