"""acl through real requests: allow/deny with consumer groups and authenticated groups
from another (Python) auth plugin, Kong's 401/403, the groups header, and the doc example."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundled.auth_combined.support import gateway_config, upstream_headers, validate
from tests.bundled.docs import example_config

PLUGINS = Path(__file__).resolve().parents[1] / "auth_combined" / "plugins"
ANON = {"id": "0c7b5d1e-8a6f-4e2b-9c3d-7f1e2d3c4b5a", "username": "anon"}
CONSUMERS = [
    {
        "username": "alice",
        "keyauth_credentials": [{"key": "alice-key"}],
        "acls": [{"group": "admins"}, {"group": "users"}],
    },
    {"username": "bob", "keyauth_credentials": [{"key": "bob-key"}], "acls": [{"group": "users"}]},
    {"username": "carol", "keyauth_credentials": [{"key": "carol-key"}]},
    ANON,
]
FORBIDDEN = "You cannot consume this service"


async def start(gateway, mock_upstream, acl, key_auth=None):
    plugins = [
        {"name": "key-auth", "config": key_auth or {"anonymous": "anon"}},
        {"name": "groups-from-header"},
        {"name": "acl", "config": acl},
    ]
    return await gateway.start(gateway_config(mock_upstream.url, plugins, CONSUMERS), plugins_dirs=[PLUGINS])


def test_schema_defaults_and_errors():
    config, errors = validate("acl", {"allow": ["a"]})
    assert errors == []
    assert config == {
        "allow": ["a"],
        "deny": None,
        "hide_groups_header": False,
        "always_use_authenticated_groups": False,
    }
    _, errors = validate("acl", {})
    assert sorted(errors) == [
        ("@entity", "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"),
        ("@entity", "exactly one of these fields must be non-empty: 'config.allow', 'config.deny'"),
    ]
    _, errors = validate("acl", {"allow": ["a"], "deny": ["b"]})
    assert errors == [
        ("@entity", "exactly one of these fields must be non-empty: 'config.allow', 'config.deny'")
    ]
    _, errors = validate("acl", {"allow": [1], "hide_groups_header": "x"}, consumer={"id": ANON["id"]})
    assert sorted(errors) == [
        ("config.allow[0]", "expected a string"),
        ("config.hide_groups_header", "expected a boolean"),
        ("consumer", "value must be null"),
    ]


async def get(gw, **headers):
    resp = await gw.get("/", headers=headers)
    return resp.status, resp.json()


async def test_allow_with_consumer_groups(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"allow": ["admins"]})
    status, body = await get(gw, apikey="alice-key")
    assert status == 200
    assert upstream_headers(body)["x-consumer-groups"] == "admins, users"
    status, body = await get(gw, apikey="bob-key")
    assert (status, body["message"]) == (403, FORBIDDEN)
    # a consumer without any group: 403 (it has a credential)
    status, body = await get(gw, apikey="carol-key")
    assert (status, body["message"]) == (403, FORBIDDEN)
    # the anonymous consumer without groups and no credential: 401
    status, body = await get(gw)
    assert (status, body["message"]) == (401, "Unauthorized")


async def test_deny_with_consumer_groups(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"deny": ["admins"]})
    assert (await get(gw, apikey="alice-key"))[0] == 403
    status, body = await get(gw, apikey="bob-key")
    assert status == 200
    assert upstream_headers(body)["x-consumer-groups"] == "users"
    status, body = await get(gw, apikey="carol-key")  # no groups: not denied
    assert status == 200


async def test_hide_groups_header(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"allow": ["users"], "hide_groups_header": True})
    status, body = await get(gw, apikey="bob-key", **{"X-Consumer-Groups": "forged"})
    assert status == 200
    seen = upstream_headers(body)
    assert seen.get("x-consumer-groups") == "forged"  # Kong leaves a client's header alone
    gw = await start(gateway, mock_upstream, {"allow": ["users"]})
    status, body = await get(gw, apikey="bob-key", **{"X-Consumer-Groups": "forged"})
    assert upstream_headers(body)["x-consumer-groups"] == "users"


async def test_authenticated_groups_from_another_plugin(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"allow": ["gold"]})
    # anonymous consumer (no credential): the authenticated groups decide
    status, body = await get(gw, **{"X-Groups": "silver, gold"})
    assert status == 200
    assert upstream_headers(body)["x-authenticated-groups"] == "silver, gold"
    status, body = await get(gw, **{"X-Groups": "silver"})
    assert (status, body["message"]) == (403, FORBIDDEN)
    # a real consumer: its own groups, the authenticated ones are ignored
    status, body = await get(gw, apikey="alice-key", **{"X-Groups": "gold"})
    assert status == 403


async def test_always_use_authenticated_groups(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"allow": ["gold"], "always_use_authenticated_groups": True})
    status, body = await get(gw, apikey="bob-key", **{"X-Groups": "gold"})
    assert status == 200
    assert upstream_headers(body)["x-authenticated-groups"] == "gold"
    gw = await start(gateway, mock_upstream, {"allow": ["users"], "always_use_authenticated_groups": True})
    status, body = await get(gw, apikey="bob-key")  # none set: the consumer's groups
    assert status == 200
    assert upstream_headers(body)["x-consumer-groups"] == "users"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-Credential": "ext-1"}, 403), ({"X-Credential": "ext-1", "X-Groups": "gold"}, 200)],
)
async def test_without_any_consumer(gateway, mock_upstream, headers, status):
    plugins = [{"name": "groups-from-header"}, {"name": "acl", "config": {"allow": ["gold"]}}]
    gw = await gateway.start(gateway_config(mock_upstream.url, plugins, CONSUMERS), plugins_dirs=[PLUGINS])
    got, body = await get(gw, **headers)
    assert got == status
    if status == 401:
        assert body["message"] == "Unauthorized"
    elif status == 403:
        assert body["message"] == FORBIDDEN


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("acl", mock_upstream.url))
    resp = await gw.get("/admin", headers={"apikey": "bob-key"})
    assert resp.status == 403
    resp = await gw.get("/admin", headers={"apikey": "alice-key"})
    assert resp.status == 200
    assert upstream_headers(resp.json())["x-consumer-groups"] == "admins"
