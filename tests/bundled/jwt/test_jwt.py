"""jwt through a real gateway: token sources, credentials, algorithms, Kong's answers."""

from __future__ import annotations

import base64

import pytest

from tests.bundled.docs import example_config
from tests.bundled.jwt._helpers import CREDENTIALS, FAR, HS_SECRET, bearer, config, now, token


async def _get(gw, path, **kwargs):
    resp = await gw.get(path, **kwargs)
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("headers"), dict):  # the echo keeps names' case
        body["headers"] = {k.lower(): v for k, v in body["headers"].items()}
    return resp.status, resp.headers, body


async def test_valid_token_authenticates_and_sets_kong_headers(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream))
    status, _, body = await _get(gw, "/api", headers=bearer(token()))
    assert status == 200
    headers = body["headers"]
    assert headers["x-consumer-username"] == "alice"
    assert headers["x-consumer-custom-id"] == "alice-cid"
    assert len(headers["x-consumer-id"]) == 36
    assert headers["x-credential-identifier"] == "alice-key"
    assert "x-anonymous-consumer" not in headers
    assert headers["authorization"].startswith("Bearer ")  # jwt does not hide the token


async def test_client_spoofed_consumer_headers_are_replaced(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream))
    spoofed = {
        **bearer(token({"iss": "bob-key"}, key="bob-secret")),
        "X-Consumer-Custom-ID": "admin",
        "X-Anonymous-Consumer": "true",
        "X-Consumer-Username": "admin",
    }
    status, _, body = await _get(gw, "/api", headers=spoofed)
    assert status == 200
    assert body["headers"]["x-consumer-username"] == "bob"
    assert "x-consumer-custom-id" not in body["headers"]  # bob has none: cleared, not passed through
    assert "x-anonymous-consumer" not in body["headers"]


async def test_no_token_is_401_unauthorized_with_bearer_challenge(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream))
    status, headers, body = await _get(gw, "/api")
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("tok", "message"),
    [
        (token({"iss": None}), "No mandatory 'iss' in claims"),
        (token({"iss": ""}), "Invalid 'iss' in claims"),
        (token({"iss": "nobody"}), "No credentials found for given 'iss'"),
        (token(key="wrong-secret"), "Invalid signature"),
        (token(alg="HS512"), "Invalid algorithm"),
        ("not-a-token", "Bad token; invalid JSON"),
        ("e30.e30.!!!", "Bad token; invalid signature"),
        ("eyJhbGciOiJGT08ifQ.e30.", "Bad token; invalid alg"),
        ("eyJhbGciOiJIUzI1NiJ9.WzFd.", "Bad token; invalid claims"),
    ],
)
async def test_invalid_tokens_get_kongs_messages(gateway, mock_upstream, tok, message):
    gw = await gateway.start(config(mock_upstream))
    status, headers, body = await _get(gw, "/api", headers=bearer(tok))
    assert (status, body) == (401, {"message": message})
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


async def test_realm_in_challenges(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream, {"realm": "api"}))
    _, headers, _ = await _get(gw, "/api")
    assert headers["WWW-Authenticate"] == 'Bearer realm="api"'
    _, headers, _ = await _get(gw, "/api", headers=bearer("x.y.z"))
    assert headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'


@pytest.mark.parametrize("alg", sorted(CREDENTIALS))
async def test_every_algorithm(gateway, mock_upstream, alg):
    key, fields = CREDENTIALS[alg]
    gw = await gateway.start(config(mock_upstream, algorithm=alg, **fields))
    status, _, body = await _get(gw, "/api", headers=bearer(token(key=key, alg=alg)))
    assert status == 200, body
    assert body["headers"]["x-consumer-username"] == "alice"
    other = "HS256" if alg != "HS256" else "HS384"
    status, _, body = await _get(gw, "/api", headers=bearer(token(key=HS_SECRET, alg=other)))
    assert (status, body) == (401, {"message": "Invalid algorithm"})


async def test_secret_is_base64(gateway, mock_upstream):
    raw = b"\x00\xffbinary-secret\x10"
    encoded = base64.b64encode(raw).decode()
    gw = await gateway.start(config(mock_upstream, {"secret_is_base64": True}, secret=encoded))
    assert (await _get(gw, "/api", headers=bearer(token(key=raw))))[0] == 200
    status, _, body = await _get(gw, "/api", headers=bearer(token(key=encoded)))
    assert (status, body) == (401, {"message": "Invalid signature"})


async def test_token_sources(gateway, mock_upstream):
    conf = {"uri_param_names": ["jwt", "t"], "cookie_names": ["session"], "header_names": ["x-token"]}
    gw = await gateway.start(config(mock_upstream, conf))
    good = token()
    assert (await _get(gw, f"/api?t={good}"))[0] == 200
    assert (await _get(gw, "/api", headers={"Cookie": f"a=b; session={good}"}))[0] == 200
    assert (await _get(gw, "/api", headers={"X-Token": f"bearer {good}"}))[0] == 200
    # authorization is not in header_names any more
    assert (await _get(gw, "/api", headers=bearer(good)))[0] == 401
    status, _, body = await _get(gw, f"/api?jwt={good}&t=" + token({"x": 1}))
    assert (status, body) == (401, {"message": "Multiple tokens provided"})
    # the same token twice is one token
    assert (await _get(gw, f"/api?jwt={good}&t={good}"))[0] == 200
    status, _, body = await _get(gw, "/api?jwt")
    assert (status, body) == (401, {"message": "Unrecognizable token"})


async def test_claims_to_verify(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream, {"claims_to_verify": ["exp", "nbf"]}))
    ok = token({"exp": FAR, "nbf": now() - 10})
    assert (await _get(gw, "/api", headers=bearer(ok)))[0] == 200
    cases = [
        ({"exp": now() - 1, "nbf": now()}, {"exp": "token expired"}),
        ({"exp": FAR, "nbf": now() + 100}, {"nbf": "token not valid yet"}),
        ({}, {"exp": "must be a number", "nbf": "must be a number"}),
        ({"exp": "soon", "nbf": True}, {"exp": "must be a number", "nbf": "must be a number"}),
    ]
    for claims, errors in cases:
        status, headers, body = await _get(gw, "/api", headers=bearer(token(claims)))
        assert (status, body) == (401, errors)
        assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


async def test_maximum_expiration(gateway, mock_upstream):
    conf = {"claims_to_verify": ["exp"], "maximum_expiration": 3600}
    gw = await gateway.start(config(mock_upstream, conf))
    assert (await _get(gw, "/api", headers=bearer(token({"exp": now() + 60}))))[0] == 200
    status, _, body = await _get(gw, "/api", headers=bearer(token({"exp": now() + 7200})))
    assert (status, body) == (401, {"exp": "exceeds maximum allowed expiration"})


async def test_key_claim_name_from_payload_or_header(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream, {"key_claim_name": "kid"}))
    assert (await _get(gw, "/api", headers=bearer(token({"kid": "alice-key"}))))[0] == 200
    assert (await _get(gw, "/api", headers=bearer(token(kid="alice-key"))))[0] == 200
    status, _, body = await _get(gw, "/api", headers=bearer(token()))
    assert (status, body) == (401, {"message": "No mandatory 'kid' in claims"})


async def test_anonymous_consumer(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream, {"anonymous": "guest"}))
    status, _, body = await _get(gw, "/api", headers=bearer(token(key="bad")))
    assert status == 200
    assert body["headers"]["x-consumer-username"] == "guest"
    assert body["headers"]["x-anonymous-consumer"] == "true"
    assert "x-credential-identifier" not in body["headers"]
    status, _, body = await _get(gw, "/api", headers=bearer(token()))
    assert body["headers"]["x-consumer-username"] == "alice"
    assert "x-anonymous-consumer" not in body["headers"]


async def test_missing_anonymous_consumer_is_500(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream, {"anonymous": "ghost"}))
    status, _, body = await _get(gw, "/api")
    assert status == 500
    assert body["message"] == "anonymous consumer ghost is configured but doesn't exist"


async def test_run_on_preflight(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream, {"run_on_preflight": False}))
    resp = await gw.request("OPTIONS", "/api")
    assert resp.status == 200
    resp = await gw.get("/api")
    assert resp.status == 401
    gw2 = await gateway.start(config(mock_upstream))
    resp = await gw2.request("OPTIONS", "/api")
    assert resp.status == 401


async def test_token_is_shared_with_later_plugins(gateway, mock_upstream):
    cfg = config(mock_upstream)
    cfg["plugins"] = [
        {
            "name": "post-function",
            "config": {
                "access": [
                    "kong.service.request.set_header('X-Seen-Token', kong.ctx.shared.authenticated_jwt_token)"
                ]
            },
        }
    ]
    gw = await gateway.start(cfg)
    good = token()
    status, _, body = await _get(gw, "/api", headers=bearer(good))
    assert status == 200
    assert body["headers"]["x-seen-token"] == good


async def test_reload_swaps_secrets(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream))
    good = token()
    assert (await _get(gw, "/api", headers=bearer(good)))[0] == 200
    await gw.reload(config(mock_upstream, secret="rotated-secret"))
    status, _, body = await _get(gw, "/api", headers=bearer(good))
    assert (status, body) == (401, {"message": "Invalid signature"})
    assert (await _get(gw, "/api", headers=bearer(token(key="rotated-secret"))))[0] == 200


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("jwt", mock_upstream.url))
    assert (await _get(gw, "/orders"))[0] == 401
    tok = token({"iss": "alice-issuer", "exp": now() + 3600}, key="alice-shared-secret-0123456789abcdef")
    status, _, body = await _get(gw, "/orders", headers=bearer(tok))
    assert status == 200
    assert body["headers"]["x-consumer-username"] == "alice"


async def test_consumer_scoped_config_applies_after_jwt(gateway, mock_upstream):
    """tagger (priority 900) is configured for everyone and differently for alice."""
    cfg = config(mock_upstream)
    cfg["plugins"] = [{"name": "tagger", "config": {"tag": "everyone"}}]
    cfg["consumers"][0]["plugins"] = [{"name": "tagger", "config": {"tag": "alice"}}]
    gw = await gateway.start(cfg)
    _, headers, _ = await _get(gw, "/api", headers=bearer(token()))
    assert headers["X-Tag"] == "alice"
    _, headers, _ = await _get(gw, "/api", headers=bearer(token({"iss": "bob-key"}, key="bob-secret")))
    assert headers["X-Tag"] == "everyone"
