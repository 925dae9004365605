"""basic-auth through real requests: Kong's 401 and challenge, both headers, consumer
headers, hide_credentials, anonymous, hashed passwords, and the doc example."""

from __future__ import annotations

import base64
import logging

import pytest

from tests.bundled.auth_combined.support import basic, gateway_config, upstream_headers, validate
from tests.bundled.docs import example_config

ALICE = {
    "username": "alice",
    "custom_id": "a-1",
    "basicauth_credentials": [{"username": "alice-basic", "password": "open-sesame"}],
}
ANON = {"id": "0c7b5d1e-8a6f-4e2b-9c3d-7f1e2d3c4b5a", "username": "anon"}
CHALLENGE = 'Basic realm="service"'


async def start(gateway, mock_upstream, conf=None):
    plugins = [{"name": "basic-auth", "config": conf or {}}]
    return await gateway.start(gateway_config(mock_upstream.url, plugins, [ALICE, ANON]))


def test_schema_defaults_and_errors():
    config, errors = validate("basic-auth", {})
    assert errors == []
    assert config == {"anonymous": None, "hide_credentials": False, "realm": "service"}
    _, errors = validate(
        "basic-auth", {"hide_credentials": "no", "realm": None, "anonymous": 3}, consumer={"id": ANON["id"]}
    )
    assert sorted(errors) == [
        ("config.anonymous", "expected a string"),
        ("config.hide_credentials", "expected a boolean"),
        ("config.realm", "required field missing"),
        ("consumer", "value must be null"),
    ]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic("alice-basic", "wrong"),
        basic("nobody", "open-sesame"),
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Bearer abc",
    ],
)
async def test_refusals(gateway, mock_upstream, authorization):
    gw = await start(gateway, mock_upstream)
    headers = {} if authorization is None else {"Authorization": authorization}
    resp = await gw.get("/", headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == CHALLENGE
    assert (resp.json())["message"] == "Unauthorized"


async def test_valid_credentials_and_realm(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"realm": "my realm"})
    resp = await gw.get("/", headers={"Authorization": basic("alice-basic", "open-sesame")})
    assert resp.status == 200
    seen = upstream_headers(resp.json())
    assert seen["x-consumer-username"] == "alice"
    assert seen["x-consumer-custom-id"] == "a-1"
    assert seen["x-consumer-id"] == gw.gateway.snapshot.consumer_by_username("alice")["id"]
    assert seen["x-credential-identifier"] == "alice-basic"
    assert seen["authorization"].startswith("Basic ")  # not hidden by default
    resp = await gw.get("/")
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="my realm"'
    # a password with ':' in it, lower-case scheme
    resp = await gw.get(
        "/", headers={"Authorization": "basic " + base64.b64encode(b"alice-basic:open-sesame").decode()}
    )
    assert resp.status == 200


async def test_proxy_authorization_is_tried_first(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"hide_credentials": True})
    headers = {
        "Proxy-Authorization": basic("alice-basic", "open-sesame"),
        "Authorization": "Bearer for-upstream",
    }
    resp = await gw.get("/", headers=headers)
    assert resp.status == 200
    seen = upstream_headers(resp.json())
    assert "proxy-authorization" not in seen
    assert seen["authorization"] == "Bearer for-upstream"
    # an unknown username in Proxy-Authorization: Authorization is used
    headers = {
        "Proxy-Authorization": basic("nobody", "x"),
        "Authorization": basic("alice-basic", "open-sesame"),
    }
    resp = await gw.get("/", headers=headers)
    assert resp.status == 200
    seen = upstream_headers(resp.json())
    assert "authorization" not in seen and "proxy-authorization" not in seen
    # a known username with a wrong password there: refused (Kong does not fall back)
    headers = {
        "Proxy-Authorization": basic("alice-basic", "bad"),
        "Authorization": basic("alice-basic", "open-sesame"),
    }
    resp = await gw.get("/", headers=headers)
    assert resp.status == 401


async def test_passwords_are_stored_hashed(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream)
    stored = gw.gateway.snapshot.credentials("basicauth_credentials")[0]["password"]
    assert stored != "open-sesame" and len(stored) == 40
    # the stored digest itself is not a password
    resp = await gw.get("/", headers={"Authorization": basic("alice-basic", stored)})
    assert resp.status == 401


@pytest.mark.parametrize("anonymous", [ANON["id"], "anon"])
async def test_anonymous(gateway, mock_upstream, anonymous):
    gw = await start(gateway, mock_upstream, {"anonymous": anonymous})
    for headers in ({}, {"Authorization": basic("alice-basic", "nope")}):
        resp = await gw.get("/", headers=headers)
        assert resp.status == 200
        seen = upstream_headers(resp.json())
        assert seen["x-consumer-username"] == "anon"
        assert seen["x-anonymous-consumer"] == "true"
        assert "x-credential-identifier" not in seen
    gw = await start(gateway, mock_upstream, {"anonymous": "ghost"})
    resp = await gw.get("/")
    assert resp.status == 500
    assert (resp.json())["message"] == "anonymous consumer ghost is configured but doesn't exist"


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("basic-auth", mock_upstream.url))
    resp = await gw.get("/hello")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="demo"'
    resp = await gw.get("/hello", headers={"Authorization": basic("alice", "open-sesame")})
    assert resp.status == 200
    seen = upstream_headers(resp.json())
    assert seen["x-consumer-username"] == "alice"
    assert "authorization" not in seen


async def test_passwords_never_reach_the_logs(gateway, mock_upstream, caplog):
    caplog.set_level(logging.DEBUG)
    gw = await gateway.start(
        gateway_config(mock_upstream.url, [{"name": "basic-auth"}], [ALICE]), log_level="debug"
    )
    wrong = "Wr0ng-Passw0rd-Value"
    for password, status in ((wrong, 401), ("open-sesame", 200)):
        resp = await gw.get("/", headers={"Authorization": basic("alice-basic", password)})
        assert resp.status == status
        assert password not in resp.text
    resp = await gw.get("/", headers={"Authorization": "Basic " + wrong})  # unreadable
    assert resp.status == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged
    assert wrong not in logged
    assert "open-sesame" not in logged
