"""key-auth through real requests: where keys are found, Kong's 401s, consumer headers,
hide_credentials, anonymous, preflight, reloads, logs, and the doc example."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from host.config import load_data
from tests.bundled.auth_combined.support import gateway_config, upstream_headers, validate
from tests.bundled.docs import example_config

ALICE = {
    "username": "alice",
    "custom_id": "a-1",
    "keyauth_credentials": [{"id": "5b0a2f4e-3f3e-4c1c-9d5e-1a2b3c4d5e6f", "key": "alice-key"}],
}
BOB = {"username": "bob", "keyauth_credentials": [{"key": "bob-key"}]}
ANON = {"id": "0c7b5d1e-8a6f-4e2b-9c3d-7f1e2d3c4b5a", "username": "anon"}


async def start(gateway, mock_upstream, conf=None, consumers=None):
    plugins = [{"name": "key-auth", "config": conf or {}}]
    return await gateway.start(gateway_config(mock_upstream.url, plugins, consumers or [ALICE, BOB, ANON]))


# -- schema --------------------------------------------------------------------------------


def test_schema_defaults():
    config, errors = validate("key-auth", {})
    assert errors == []
    assert config == {
        "key_names": ["apikey"],
        "hide_credentials": False,
        "anonymous": None,
        "key_in_header": True,
        "key_in_query": True,
        "key_in_body": False,
        "run_on_preflight": True,
        "realm": None,
    }


def test_schema_errors():
    _, errors = validate(
        "key-auth",
        {"key_names": ["ok", "bad name"], "hide_credentials": "yes", "key_in_query": 1, "realm": 5},
        consumer={"id": ANON["id"]},
    )
    assert ("consumer", "value must be null") in errors
    assert (
        "config.key_names[1]",
        "bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
    ) in errors
    assert ("config.hide_credentials", "expected a boolean") in errors
    assert ("config.key_in_query", "expected a boolean") in errors
    assert ("config.realm", "expected a string") in errors
    _, errors = validate("key-auth", {"key_names": None, "key_in_body": None})
    assert ("config.key_names", "required field missing") in errors
    assert ("config.key_in_body", "required field missing") in errors


# -- finding the key -----------------------------------------------------------------------


async def test_no_key_unknown_key_and_valid_key(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream)
    resp = await gw.get("/")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Key"
    assert resp.json()["message"] == "No API key found in request"
    resp = await gw.get("/", headers={"apikey": "nope"})
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Key"
    assert resp.json()["message"] == "Unauthorized"
    resp = await gw.get("/", headers={"apikey": ""})
    assert resp.status == 401
    assert resp.json()["message"] == "No API key found in request"
    resp = await gw.get("/", headers={"apikey": "alice-key", "X-Anonymous-Consumer": "true"})
    assert resp.status == 200
    seen = upstream_headers(resp.json())
    consumer = gw.gateway.snapshot.consumer_by_username("alice")
    assert seen["x-consumer-id"] == consumer["id"]
    assert seen["x-consumer-username"] == "alice"
    assert seen["x-consumer-custom-id"] == "a-1"
    assert seen["x-credential-identifier"] == "5b0a2f4e-3f3e-4c1c-9d5e-1a2b3c4d5e6f"
    assert "x-anonymous-consumer" not in seen
    assert seen["apikey"] == "alice-key"  # hide_credentials is off
    resp = await gw.get("/", headers={"apikey": "bob-key", "X-Consumer-Custom-ID": "forged"})
    seen = upstream_headers(resp.json())
    assert seen["x-consumer-username"] == "bob"
    assert "x-consumer-custom-id" not in seen  # bob has none: a client's value is removed


async def test_realm_in_the_challenge(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"realm": "kong"})
    resp = await gw.get("/")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == 'Key realm="kong"'


async def test_key_in_query_and_the_switches(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream)
    resp = await gw.get("/?apikey=alice-key")
    assert resp.status == 200
    assert upstream_headers(resp.json())["x-consumer-username"] == "alice"
    gw = await start(gateway, mock_upstream, {"key_in_query": False})
    resp = await gw.get("/?apikey=alice-key")
    assert resp.status == 401
    gw = await start(gateway, mock_upstream, {"key_in_header": False})
    resp = await gw.get("/", headers={"apikey": "alice-key"})
    assert resp.status == 401
    assert resp.json()["message"] == "No API key found in request"
    resp = await gw.get("/?apikey=alice-key")
    assert resp.status == 200


async def test_key_names_are_tried_in_order(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"key_names": ["x-api-key", "token"]})
    resp = await gw.get("/", headers={"token": "bob-key"})
    assert upstream_headers(resp.json())["x-consumer-username"] == "bob"
    resp = await gw.get("/?token=alice-key", headers={"X-API-Key": "bob-key"})
    assert upstream_headers(resp.json())["x-consumer-username"] == "bob"
    resp = await gw.get("/", headers={"apikey": "bob-key"})
    assert resp.status == 401


async def test_duplicate_keys_are_refused(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream)
    resp = await gw.get("/?apikey=alice-key&apikey=bob-key")
    assert resp.status == 401
    assert resp.json()["message"] == "Duplicate API key found"
    assert resp.headers["WWW-Authenticate"] == "Key"
    headers = [("apikey", "alice-key"), ("apikey", "bob-key")]
    resp = await gw.get("/", headers=headers)
    assert resp.status == 401
    assert resp.json()["message"] == "Duplicate API key found"


@pytest.mark.parametrize(
    "kind",
    ["form", "json", "multipart"],
)
async def test_key_in_body(gateway, mock_upstream, kind):
    gw = await start(gateway, mock_upstream, {"key_in_body": True, "hide_credentials": True})
    fields = {"apikey": "alice-key", "other": "kept"}
    if kind == "form":
        kwargs = {"data": fields}
    elif kind == "json":
        kwargs = {"json": fields}
    else:
        kwargs = {"data": _multipart(fields)}
    resp = await gw.post("/", **kwargs)
    assert resp.status == 200, resp.text
    body = resp.json()
    assert upstream_headers(body)["x-consumer-username"] == "alice"
    assert "alice-key" not in body["body"]
    assert "kept" in body["body"]
    gw = await start(gateway, mock_upstream)  # key_in_body off: the body is not read
    resp = await gw.post("/", json=fields)
    assert resp.status == 401


def _multipart(fields: dict[str, str]) -> aiohttp.MultipartWriter:
    writer = aiohttp.MultipartWriter("form-data")
    for name, value in fields.items():
        part = writer.append(value)
        part.set_content_disposition("form-data", name=name)
    return writer


async def test_hide_credentials_header_and_query(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"hide_credentials": True})
    resp = await gw.get("/?apikey=alice-key&x=1")
    body = resp.json()
    assert body["query"] == "x=1"
    resp = await gw.get("/", headers={"apikey": "alice-key"})
    seen = upstream_headers(resp.json())
    assert "apikey" not in seen
    assert seen["x-consumer-username"] == "alice"


# -- anonymous and preflight ---------------------------------------------------------------


@pytest.mark.parametrize("anonymous", [ANON["id"], "anon"])
async def test_anonymous_by_id_or_username(gateway, mock_upstream, anonymous):
    gw = await start(gateway, mock_upstream, {"anonymous": anonymous})
    for headers in ({}, {"apikey": "wrong"}):
        resp = await gw.get("/", headers=headers)
        assert resp.status == 200
        seen = upstream_headers(resp.json())
        assert seen["x-consumer-id"] == ANON["id"]
        assert seen["x-consumer-username"] == "anon"
        assert seen["x-anonymous-consumer"] == "true"
        assert "x-credential-identifier" not in seen
    resp = await gw.get("/", headers={"apikey": "alice-key"})
    seen = upstream_headers(resp.json())
    assert seen["x-consumer-username"] == "alice"
    assert "x-anonymous-consumer" not in seen


async def test_missing_anonymous_consumer_is_a_500(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"anonymous": "ghost"})
    resp = await gw.get("/")
    assert resp.status == 500
    assert resp.json()["message"] == "anonymous consumer ghost is configured but doesn't exist"


async def test_run_on_preflight(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream)
    resp = await gw.request("OPTIONS", "/")
    assert resp.status == 401
    gw = await start(gateway, mock_upstream, {"run_on_preflight": False})
    resp = await gw.request("OPTIONS", "/")
    assert resp.status == 200
    resp = await gw.get("/")
    assert resp.status == 401


# -- reloads, logs, docs -------------------------------------------------------------------


async def test_reload_refuses_a_removed_key_and_accepts_a_new_one(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream)
    resp = await gw.get("/", headers={"apikey": "bob-key"})
    assert resp.status == 200  # now cached
    resp = await gw.get("/", headers={"apikey": "carol-key"})
    assert resp.status == 401  # a cached miss
    carol = {"username": "carol", "keyauth_credentials": [{"key": "carol-key"}]}
    data = gateway_config(mock_upstream.url, [{"name": "key-auth"}], [ALICE, carol, ANON])
    await gw.gateway.apply(load_data(data, gw.gateway.registry, source="reload.yml"))
    resp = await gw.get("/", headers={"apikey": "bob-key"})
    assert resp.status == 401
    assert resp.json()["message"] == "Unauthorized"
    resp = await gw.get("/", headers={"apikey": "carol-key"})
    assert resp.status == 200
    assert upstream_headers(resp.json())["x-consumer-username"] == "carol"


async def test_keys_never_reach_the_logs(gateway, mock_upstream, caplog):
    caplog.set_level(logging.DEBUG)
    secret_ok, secret_bad = "alice-key", "Wr0ng-S3cret-Value"
    gw = await gateway.start(
        gateway_config(mock_upstream.url, [{"name": "key-auth"}], [ALICE]), log_level="debug"
    )
    resp = await gw.get("/", headers={"apikey": secret_bad})
    assert resp.status == 401
    text = resp.text
    resp = await gw.get("/?apikey=" + secret_bad)
    assert resp.status == 401
    resp = await gw.get("/", headers={"apikey": secret_ok})
    assert resp.status == 200
    assert secret_bad not in text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # the gateway did log at debug level
    assert secret_bad not in logged
    assert secret_ok not in logged


async def test_doc_example(gateway, mock_upstream):
    config = example_config("key-auth", mock_upstream.url)
    gw = await gateway.start(config)
    resp = await gw.get("/hello")
    assert resp.status == 401
    resp = await gw.get("/hello", headers={"apikey": "alice-secret-key"})
    assert resp.status == 200
    seen = upstream_headers(resp.json())
    assert seen["x-consumer-username"] == "alice"
    assert "apikey" not in seen
