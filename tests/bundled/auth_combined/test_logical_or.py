"""Several auth plugins on one route (Kong's "logical OR" with `anonymous`), and a
plugin configured for a consumer applying once an auth plugin identified it."""

from __future__ import annotations

import pytest

from tests.bundled.auth_combined.support import basic, gateway_config, upstream_headers

ANON = {"id": "0c7b5d1e-8a6f-4e2b-9c3d-7f1e2d3c4b5a", "username": "anon"}
ALICE = {"username": "alice", "keyauth_credentials": [{"key": "alice-key"}]}
BOB = {"username": "bob", "basicauth_credentials": [{"username": "bob", "password": "pw"}]}


async def start(gateway, mock_upstream, **extra_plugins):
    plugins = [
        {"name": "key-auth", "config": {"anonymous": ANON["id"]}},
        {"name": "basic-auth", "config": {"anonymous": ANON["id"]}},
        # Kong's documented pattern: refuse the anonymous consumer afterwards
        {
            "name": "request-termination",
            "consumer": {"id": ANON["id"]},
            "config": {"status_code": 401, "message": "Unauthorized"},
        },
    ]
    return await gateway.start(
        gateway_config(mock_upstream.url, plugins[:2], [ALICE, BOB, ANON]) | {"plugins": plugins[2:]}
    )


@pytest.mark.parametrize(
    ("key", "auth", "status", "who"),
    [
        ("alice-key", basic("bob", "pw"), 200, "alice"),  # both valid: the first (key-auth) wins
        ("alice-key", None, 200, "alice"),  # key only
        (None, basic("bob", "pw"), 200, "bob"),  # basic only
        (None, None, 401, None),  # neither: the anonymous consumer is refused
    ],
)
async def test_the_four_combinations(gateway, mock_upstream, key, auth, status, who):
    gw = await start(gateway, mock_upstream)
    headers = {}
    if key:
        headers["apikey"] = key
    if auth:
        headers["Authorization"] = auth
    resp = await gw.get("/", headers=headers)
    assert resp.status == status
    body = resp.json()
    if who is None:
        assert body["message"] == "Unauthorized"
        return
    seen = upstream_headers(body)
    assert seen["x-consumer-username"] == who
    assert "x-anonymous-consumer" not in seen


async def test_wrong_credentials_fall_to_anonymous_without_termination(gateway, mock_upstream):
    plugins = [
        {"name": "key-auth", "config": {"anonymous": "anon"}},
        {"name": "basic-auth", "config": {"anonymous": "anon"}},
    ]
    gw = await gateway.start(gateway_config(mock_upstream.url, plugins, [ALICE, BOB, ANON]))
    resp = await gw.get("/", headers={"apikey": "bad", "Authorization": basic("bob", "bad")})
    seen = upstream_headers(resp.json())
    assert seen["x-consumer-username"] == "anon"
    assert seen["x-anonymous-consumer"] == "true"
    # basic-auth succeeds after key-auth chose the anonymous consumer: basic-auth's consumer wins
    resp = await gw.get("/", headers={"apikey": "bad", "Authorization": basic("bob", "pw")})
    seen = upstream_headers(resp.json())
    assert seen["x-consumer-username"] == "bob"
    assert "x-anonymous-consumer" not in seen


async def test_without_anonymous_both_must_pass(gateway, mock_upstream):
    plugins = [{"name": "key-auth"}, {"name": "basic-auth"}]  # logical AND
    gw = await gateway.start(gateway_config(mock_upstream.url, plugins, [ALICE, BOB, ANON]))
    resp = await gw.get("/", headers={"apikey": "alice-key"})
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="service"'
    resp = await gw.get("/", headers={"apikey": "alice-key", "Authorization": basic("bob", "pw")})
    assert resp.status == 200
    assert upstream_headers(resp.json())["x-consumer-username"] == "bob"  # the last one set


async def test_rate_limit_configured_under_a_consumer(gateway, mock_upstream):
    plugins = [{"name": "key-auth"}]
    config = gateway_config(
        mock_upstream.url, plugins, [ALICE, {"username": "bob", "keyauth_credentials": [{"key": "bob-key"}]}]
    )
    config["consumers"][0]["plugins"] = [
        {"name": "rate-limiting", "config": {"minute": 2, "policy": "local"}}
    ]
    gw = await gateway.start(config)
    statuses = []
    for _ in range(4):
        resp = await gw.get("/", headers={"apikey": "alice-key"})
        statuses.append(resp.status)
        if resp.status == 429:
            assert resp.json()["message"] == "API rate limit exceeded"
    assert statuses == [200, 200, 429, 429]
    for _ in range(4):  # bob has no limit
        resp = await gw.get("/", headers={"apikey": "bob-key"})
        assert resp.status == 200
        assert "X-RateLimit-Limit-Minute" not in resp.headers
