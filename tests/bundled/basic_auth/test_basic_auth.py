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


async def start(make_gateway, echo_upstream, conf=None):
    plugins = [{"name": "basic-auth", "config": conf or {}}]
    return await make_gateway(gateway_config(echo_upstream.url, plugins, [ALICE, ANON]))


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
async def test_refusals(make_gateway, echo_upstream, http, authorization):
    gw = await start(make_gateway, echo_upstream)
    headers = {} if authorization is None else {"Authorization": authorization}
    async with http.get(gw.url + "/", headers=headers) as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == CHALLENGE
        assert (await resp.json())["message"] == "Unauthorized"


async def test_valid_credentials_and_realm(make_gateway, echo_upstream, http):
    gw = await start(make_gateway, echo_upstream, {"realm": "my realm"})
    async with http.get(gw.url + "/", headers={"Authorization": basic("alice-basic", "open-sesame")}) as resp:
        assert resp.status == 200
        seen = upstream_headers(await resp.json())
    assert seen["x-consumer-username"] == "alice"
    assert seen["x-consumer-custom-id"] == "a-1"
    assert seen["x-consumer-id"] == gw.gateway.snapshot.consumer_by_username("alice")["id"]
    assert seen["x-credential-identifier"] == "alice-basic"
    assert seen["authorization"].startswith("Basic ")  # not hidden by default
    async with http.get(gw.url + "/") as resp:
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="my realm"'
    # a password with ':' in it, lower-case scheme
    async with http.get(
        gw.url + "/",
        headers={"Authorization": "basic " + base64.b64encode(b"alice-basic:open-sesame").decode()},
    ) as resp:
        assert resp.status == 200


async def test_proxy_authorization_is_tried_first(make_gateway, echo_upstream, http):
    gw = await start(make_gateway, echo_upstream, {"hide_credentials": True})
    headers = {
        "Proxy-Authorization": basic("alice-basic", "open-sesame"),
        "Authorization": "Bearer for-upstream",
    }
    async with http.get(gw.url + "/", headers=headers) as resp:
        assert resp.status == 200
        seen = upstream_headers(await resp.json())
    assert "proxy-authorization" not in seen
    assert seen["authorization"] == "Bearer for-upstream"
    # an unknown username in Proxy-Authorization: Authorization is used
    headers = {
        "Proxy-Authorization": basic("nobody", "x"),
        "Authorization": basic("alice-basic", "open-sesame"),
    }
    async with http.get(gw.url + "/", headers=headers) as resp:
        assert resp.status == 200
        seen = upstream_headers(await resp.json())
    assert "authorization" not in seen and "proxy-authorization" not in seen
    # a known username with a wrong password there: refused (Kong does not fall back)
    headers = {
        "Proxy-Authorization": basic("alice-basic", "bad"),
        "Authorization": basic("alice-basic", "open-sesame"),
    }
    async with http.get(gw.url + "/", headers=headers) as resp:
        assert resp.status == 401


async def test_passwords_are_stored_hashed(make_gateway, echo_upstream, http):
    gw = await start(make_gateway, echo_upstream)
    stored = gw.gateway.snapshot.credentials("basicauth_credentials")[0]["password"]
    assert stored != "open-sesame" and len(stored) == 40
    # the stored digest itself is not a password
    async with http.get(gw.url + "/", headers={"Authorization": basic("alice-basic", stored)}) as resp:
        assert resp.status == 401


@pytest.mark.parametrize("anonymous", [ANON["id"], "anon"])
async def test_anonymous(make_gateway, echo_upstream, http, anonymous):
    gw = await start(make_gateway, echo_upstream, {"anonymous": anonymous})
    for headers in ({}, {"Authorization": basic("alice-basic", "nope")}):
        async with http.get(gw.url + "/", headers=headers) as resp:
            assert resp.status == 200
            seen = upstream_headers(await resp.json())
        assert seen["x-consumer-username"] == "anon"
        assert seen["x-anonymous-consumer"] == "true"
        assert "x-credential-identifier" not in seen
    gw = await start(make_gateway, echo_upstream, {"anonymous": "ghost"})
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 500
        assert (await resp.json())["message"] == "anonymous consumer ghost is configured but doesn't exist"


async def test_doc_example(make_gateway, echo_upstream, http):
    gw = await make_gateway(example_config("basic-auth", echo_upstream.url))
    async with http.get(gw.url + "/hello") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="demo"'
    async with http.get(gw.url + "/hello", headers={"Authorization": basic("alice", "open-sesame")}) as resp:
        assert resp.status == 200
        seen = upstream_headers(await resp.json())
    assert seen["x-consumer-username"] == "alice"
    assert "authorization" not in seen


async def test_passwords_never_reach_the_logs(make_gateway, echo_upstream, http, caplog):
    caplog.set_level(logging.DEBUG)
    gw = await make_gateway(
        gateway_config(echo_upstream.url, [{"name": "basic-auth"}], [ALICE]), log_level="debug"
    )
    wrong = "Wr0ng-Passw0rd-Value"
    for password, status in ((wrong, 401), ("open-sesame", 200)):
        async with http.get(gw.url + "/", headers={"Authorization": basic("alice-basic", password)}) as resp:
            assert resp.status == status
            assert password not in await resp.text()
    async with http.get(gw.url + "/", headers={"Authorization": "Basic " + wrong}) as resp:  # unreadable
        assert resp.status == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged
    assert wrong not in logged
    assert "open-sesame" not in logged
