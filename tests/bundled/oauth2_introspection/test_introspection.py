"""oauth2-introspection through a real gateway against a real introspection endpoint."""

from __future__ import annotations

import asyncio
import time

from tests.bundled.docs import example_config
from tests.bundled.oauth2_introspection._server import CLIENT_AUTH
from tests.conftest import free_port, service

ACTIVE = {
    "active": True,
    "scope": "read write",
    "client_id": "app-1",
    "username": "alice",
    "token_type": "Bearer",
    "sub": "u-42",
    "aud": ["orders", "billing"],
    "iss": "https://idp.example",
    "tenant": "acme",
}


def _config(up, url, **conf):
    plugin = {
        "name": "oauth2-introspection",
        "config": {"introspection_url": url, "authorization_value": CLIENT_AUTH, **conf},
    }
    return {
        "_format_version": "3.0",
        "services": [service(up, routes=[{"paths": ["/api"], "plugins": [plugin]}])],
        "consumers": [
            {"username": "alice"},
            {"username": "app", "custom_id": "app-1"},
            {"username": "guest"},
        ],
    }


async def _get(gw, path, token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    resp = await gw.get(path, headers=headers, **kwargs)
    body = resp.json()
    if isinstance(body.get("headers"), dict):
        body["headers"] = {k.lower(): v for k, v in body["headers"].items()}
    return resp.status, resp.headers, body


async def test_active_token_is_cached_and_forwarded(gateway, mock_upstream, idp):
    idp.tokens["tok-1"] = ACTIVE
    gw = await gateway.start(_config(mock_upstream, idp.url))
    status, _, body = await _get(gw, "/api", "tok-1")
    assert status == 200
    headers = body["headers"]
    assert headers["x-consumer-username"] == "alice"
    assert headers["x-credential-scope"] == "read write"
    assert headers["x-credential-client-id"] == "app-1"
    assert headers["x-credential-username"] == "alice"
    assert headers["x-credential-token-type"] == "Bearer"
    assert headers["x-credential-sub"] == "u-42"
    assert headers["x-credential-aud"] == "orders,billing"
    assert headers["x-credential-iss"] == "https://idp.example"
    assert "x-credential-tenant" not in headers
    assert "authorization" not in headers  # hide_credentials is on by default
    assert "x-anonymous-consumer" not in headers
    assert idp.calls == 1
    for _ in range(3):
        assert (await _get(gw, "/api", "tok-1"))[0] == 200
    assert idp.calls == 1  # cache hits: no second call
    sent_headers, form = idp.requests[0]
    assert form == {"token": "tok-1"}
    assert sent_headers["Authorization"] == CLIENT_AUTH


async def test_missing_and_inactive_tokens(gateway, mock_upstream, idp):
    gw = await gateway.start(_config(mock_upstream, idp.url))
    status, headers, body = await _get(gw, "/api")
    assert (status, body) == (
        401,
        {"error": "invalid_request", "error_description": "The access token is missing"},
    )
    assert headers["WWW-Authenticate"] == "Bearer"
    assert idp.calls == 0
    for expected_calls in (1, 2):  # inactive results are not cached
        status, headers, body = await _get(gw, "/api", "revoked")
        assert status == 401
        assert body == {
            "error": "invalid_token",
            "error_description": "The access token is invalid or has expired",
        }
        assert headers["WWW-Authenticate"] == (
            'Bearer error="invalid_token", error_description="The access token is invalid or has expired"'
        )
        assert idp.calls == expected_calls


async def test_consumer_by_client_id_and_no_consumer(gateway, mock_upstream, idp):
    idp.tokens["t"] = ACTIVE
    idp.tokens["stranger"] = {"active": True, "client_id": "unknown-app", "username": "nobody"}
    gw = await gateway.start(_config(mock_upstream, idp.url, consumer_by="client_id"))
    _, _, body = await _get(gw, "/api", "t")
    assert body["headers"]["x-consumer-username"] == "app"
    assert body["headers"]["x-consumer-custom-id"] == "app-1"
    status, _, body = await _get(gw, "/api", "stranger")
    assert status == 200  # an active token without a matching consumer still passes
    assert "x-consumer-id" not in body["headers"]
    assert body["headers"]["x-credential-client-id"] == "unknown-app"


async def test_token_sources_and_hide_credentials(gateway, mock_upstream, idp):
    idp.tokens["t"] = ACTIVE
    gw = await gateway.start(_config(mock_upstream, idp.url))
    status, _, body = await _get(gw, "/api?access_token=t&page=2")
    assert status == 200
    assert body["query"] == "page=2"
    resp = await gw.post("/api", data={"access_token": "t", "x": "1"})
    assert resp.status == 200
    echoed = resp.json()
    assert "access_token" not in echoed["body"] and "x=1" in echoed["body"]
    resp = await gw.get("/api", headers={"Authorization": "Token t"})
    assert resp.status == 200
    shown = await gateway.start(_config(mock_upstream, idp.url, hide_credentials=False))
    _, _, body = await _get(shown, "/api", "t")
    assert body["headers"]["authorization"] == "Bearer t"


async def test_request_to_the_endpoint(gateway, mock_upstream, idp):
    idp.tokens["t"] = ACTIVE
    conf = {
        "token_type_hint": "access_token",
        "custom_introspection_headers": {"X-Tenant": "acme"},
        "introspect_request": True,
        "custom_claims_forward": ["tenant"],
    }
    gw = await gateway.start(_config(mock_upstream, idp.url, **conf))
    status, _, body = await _get(gw, "/api/orders", "t")
    assert status == 200
    assert body["headers"]["x-credential-tenant"] == "acme"
    headers, form = idp.requests[-1]
    assert form == {"token": "t", "token_type_hint": "access_token"}
    assert headers["X-Tenant"] == "acme"
    assert headers["X-Request-Path"] == "/api/orders"
    assert headers["X-Request-Http-Method"] == "GET"
    await _get(gw, "/api/orders", "t")
    assert idp.calls == 1
    await _get(gw, "/api/other", "t")  # results are per path with introspect_request
    assert idp.calls == 2


async def test_ttl_and_token_exp_bound_the_cache(gateway, mock_upstream, idp):
    idp.tokens["short-ttl"] = ACTIVE
    gw = await gateway.start(_config(mock_upstream, idp.url, ttl=0.3))
    await _get(gw, "/api", "short-ttl")
    await _get(gw, "/api", "short-ttl")
    assert idp.calls == 1
    await asyncio.sleep(0.5)
    await _get(gw, "/api", "short-ttl")
    assert idp.calls == 2
    long = await gateway.start(_config(mock_upstream, idp.url, ttl=60))
    idp.tokens["exp-soon"] = {**ACTIVE, "exp": time.time() + 0.4}
    await _get(long, "/api", "exp-soon")
    await _get(long, "/api", "exp-soon")
    assert idp.calls == 3
    await asyncio.sleep(0.5)
    await _get(long, "/api", "exp-soon")  # the cache does not outlive exp
    assert idp.calls == 4


async def test_concurrent_requests_share_one_call(gateway, mock_upstream, idp):
    idp.tokens["t"] = ACTIVE
    idp.delay = 0.2
    gw = await gateway.start(_config(mock_upstream, idp.url))
    results = await asyncio.gather(*(_get(gw, "/api", "t") for _ in range(8)))
    assert [r[0] for r in results] == [200] * 8
    assert idp.calls == 1


async def test_endpoint_down_is_a_quick_503(gateway, mock_upstream):
    gw = await gateway.start(_config(mock_upstream, f"http://127.0.0.1:{free_port()}/introspect"))
    status, _, body = await _get(gw, "/api", "t")
    assert (status, body) == (503, {"message": "The introspection endpoint is unavailable"})


async def test_slow_endpoint_gives_503_within_timeout(gateway, mock_upstream, idp):
    idp.tokens["t"] = ACTIVE
    idp.delay = 1.5
    gw = await gateway.start(_config(mock_upstream, idp.url, timeout=300))
    started = time.monotonic()
    status, _, body = await _get(gw, "/api", "t")
    assert (status, body) == (503, {"message": "The introspection endpoint is unavailable"})
    assert time.monotonic() - started < 2.5


async def test_bad_answers_are_500_without_secrets(gateway, mock_upstream, idp, caplog):
    gw = await gateway.start(_config(mock_upstream, idp.url, authorization_value="Basic wrong"))
    status, _, body = await _get(gw, "/api", "secret-token")
    assert (status, body) == (500, {"message": "The introspection endpoint gave an invalid answer"})
    idp.raw = b"<html>not json</html>"
    ok = await gateway.start(_config(mock_upstream, idp.url))
    assert (await _get(ok, "/api", "secret-token"))[0] == 500
    assert "secret-token" not in caplog.text and "wrong" not in caplog.text


async def test_anonymous(gateway, mock_upstream, idp):
    gw = await gateway.start(_config(mock_upstream, idp.url, anonymous="guest"))
    status, _, body = await _get(gw, "/api", "revoked")
    assert status == 200
    assert body["headers"]["x-consumer-username"] == "guest"
    assert body["headers"]["x-anonymous-consumer"] == "true"
    missing = await gateway.start(_config(mock_upstream, idp.url, anonymous="ghost"))
    status, _, body = await _get(missing, "/api")
    assert status == 500
    assert body["message"] == "anonymous consumer ghost is configured but doesn't exist"


async def test_run_on_preflight(gateway, mock_upstream, idp):
    gw = await gateway.start(_config(mock_upstream, idp.url, run_on_preflight=False))
    resp = await gw.request("OPTIONS", "/api")
    assert resp.status == 200
    assert (await _get(gw, "/api"))[0] == 401


async def test_no_header_injection_from_the_endpoint(gateway, mock_upstream, idp):
    idp.tokens["t"] = {"active": True, "username": "x\r\nX-Injected: 1", "sub": "ok"}
    gw = await gateway.start(_config(mock_upstream, idp.url))
    status, _, body = await _get(gw, "/api", "t")
    assert status == 200
    assert "x-injected" not in body["headers"]
    assert "x-credential-username" not in body["headers"]
    assert body["headers"]["x-credential-sub"] == "ok"


async def test_client_spoofed_credential_headers_are_cleared(gateway, mock_upstream, idp):
    idp.tokens["t"] = {"active": True, "sub": "u"}
    gw = await gateway.start(_config(mock_upstream, idp.url))
    spoof = {"X-Credential-Scope": "admin", "X-Consumer-Username": "root"}
    _, _, body = await _get(gw, "/api", "t", headers=spoof)
    assert "x-credential-scope" not in body["headers"]
    assert "x-consumer-username" not in body["headers"]


async def test_doc_example(gateway, mock_upstream, idp):
    config = example_config("oauth2-introspection", mock_upstream.url)
    plugin = config["services"][0]["plugins"][0]["config"]
    plugin["introspection_url"] = idp.url
    plugin["authorization_value"] = CLIENT_AUTH
    idp.tokens["opaque-token-123"] = {"active": True, "username": "alice", "scope": "orders:read"}
    gw = await gateway.start(config)
    assert (await _get(gw, "/orders"))[0] == 401
    status, _, body = await _get(gw, "/orders", "opaque-token-123")
    assert status == 200
    assert body["headers"]["x-consumer-username"] == "alice"
    assert body["headers"]["x-credential-scope"] == "orders:read"
