"""jwt's JWKS mode against a real local JWKS server that counts its fetches."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.bundled.jwt._helpers import (
    EC256_PRIVATE,
    EC256_PUBLIC,
    HS_SECRET,
    RSA2_PRIVATE,
    RSA2_PUBLIC,
    RSA_PRIVATE,
    RSA_PUBLIC,
    bearer,
    now,
    token,
)
from tests.conftest import free_port, service


def _jwk(algorithm, pem, kid):
    key = serialization.load_pem_public_key(pem.encode())
    return {**algorithm.to_jwk(key, as_dict=True), "kid": kid, "use": "sig"}


class JwksServer:
    """Serves ``keys`` at /jwks.json and counts the fetches."""

    def __init__(self) -> None:
        self.keys = [_jwk(RSAAlgorithm, RSA_PUBLIC, "rsa-1"), _jwk(ECAlgorithm, EC256_PUBLIC, "ec-1")]
        self.fetches = 0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _serve(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return web.json_response({"keys": self.keys})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/jwks.json", self._serve)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/jwks.json"


@pytest.fixture
async def jwks():
    server = JwksServer()
    await server.start()
    yield server
    await server.runner.cleanup()


def _config(up, plugin_config):
    return {
        "_format_version": "3.0",
        "services": [
            service(up, routes=[{"paths": ["/api"], "plugins": [{"name": "jwt", "config": plugin_config}]}])
        ],
        "consumers": [{"username": "alice"}],
    }


async def _get(gw, path, tok):
    resp = await gw.get(path, headers=bearer(tok))
    body = resp.json()
    if isinstance(body.get("headers"), dict):
        body["headers"] = {k.lower(): v for k, v in body["headers"].items()}
    return resp.status, body


def _idp(claims=None, key=RSA_PRIVATE, alg="RS256", kid="rsa-1"):
    return token({"iss": "https://idp.example", "sub": "alice", **(claims or {})}, key=key, alg=alg, kid=kid)


async def test_tokens_verified_with_the_jwks_fetched_once(gateway, mock_upstream, jwks):
    gw = await gateway.start(_config(mock_upstream, {"jwks_uri": jwks.url}))
    for tok in (_idp(), _idp({"n": 1}), _idp(key=EC256_PRIVATE, alg="ES256", kid="ec-1")):
        status, body = await _get(gw, "/api", tok)
        assert status == 200, body
    assert body["headers"]["x-credential-identifier"] == "ec-1"
    assert "x-consumer-id" not in body["headers"]
    assert "x-anonymous-consumer" not in body["headers"]
    assert jwks.fetches == 1


async def test_consumer_from_claim(gateway, mock_upstream, jwks):
    gw = await gateway.start(_config(mock_upstream, {"jwks_uri": jwks.url, "jwks_consumer_claim": "sub"}))
    status, body = await _get(gw, "/api", _idp())
    assert status == 200
    assert body["headers"]["x-consumer-username"] == "alice"
    assert await _get(gw, "/api", _idp({"sub": "mallory"})) == (
        401,
        {"message": "Could not find consumer for 'sub=mallory'"},
    )
    assert await _get(gw, "/api", _idp({"sub": None})) == (
        401,
        {"message": "No mandatory 'sub' in claims"},
    )


async def test_unknown_kid_refreshes_once_then_rate_limited(gateway, mock_upstream, jwks):
    gw = await gateway.start(_config(mock_upstream, {"jwks_uri": jwks.url}))
    assert (await _get(gw, "/api", _idp()))[0] == 200
    jwks.keys.append(_jwk(RSAAlgorithm, RSA2_PUBLIC, "rsa-2"))  # the provider rotates its keys
    assert (await _get(gw, "/api", _idp(key=RSA2_PRIVATE, kid="rsa-2")))[0] == 200
    assert jwks.fetches == 2
    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        status, body = await _get(gw, "/api", _idp(kid=kid))
        assert (status, body) == (401, {"message": "No credentials found for given 'kid'"})
    assert jwks.fetches == 2  # the rotation refresh was less than 10 s ago: no refresh for made-up kids


@pytest.mark.parametrize(
    ("tok", "message"),
    [
        (_idp(alg="RS384"), "Invalid algorithm"),  # not in jwks_algorithms
        (_idp(key=HS_SECRET, alg="HS256"), "Invalid algorithm"),  # never for a public key
        (_idp(key=EC256_PRIVATE, alg="ES256"), "Invalid algorithm"),  # an RSA key cannot verify ES256
        (_idp(key=RSA2_PRIVATE), "Invalid signature"),
        (_idp(kid=None), "No credentials found for given 'kid'"),  # two keys: kid is needed
        (_idp({"exp": now() - 5}), {"exp": "token expired"}),
    ],
)
async def test_refused_tokens(gateway, mock_upstream, jwks, tok, message):
    conf = {"jwks_uri": jwks.url, "claims_to_verify": ["exp"]}
    gw = await gateway.start(_config(mock_upstream, conf))
    expected = {"message": message} if isinstance(message, str) else message
    assert await _get(gw, "/api", tok) == (401, expected)


async def test_jwks_ttl_refetches(gateway, mock_upstream, jwks):
    gw = await gateway.start(_config(mock_upstream, {"jwks_uri": jwks.url, "jwks_ttl": 0.3}))
    assert (await _get(gw, "/api", _idp()))[0] == 200
    assert (await _get(gw, "/api", _idp()))[0] == 200
    assert jwks.fetches == 1
    await asyncio.sleep(0.5)
    assert (await _get(gw, "/api", _idp()))[0] == 200
    assert jwks.fetches == 2


async def test_single_key_set_serves_tokens_without_kid(gateway, mock_upstream, jwks):
    jwks.keys = jwks.keys[:1]
    gw = await gateway.start(_config(mock_upstream, {"jwks_uri": jwks.url}))
    assert (await _get(gw, "/api", _idp(kid=None)))[0] == 200


async def test_unreachable_jwks_is_a_quick_503(gateway, mock_upstream):
    url = f"http://127.0.0.1:{free_port()}/jwks.json"
    gw = await gateway.start(_config(mock_upstream, {"jwks_uri": url}))
    started = time.monotonic()
    status, body = await _get(gw, "/api", _idp())
    assert (status, body) == (503, {"message": "The JWKS endpoint is unavailable"})
    assert time.monotonic() - started < 5


async def test_invalid_jwks_document_is_503(gateway, mock_upstream, jwks):
    jwks.keys = "nope"
    gw = await gateway.start(_config(mock_upstream, {"jwks_uri": jwks.url}))
    status, body = await _get(gw, "/api", _idp())
    assert (status, body) == (503, {"message": "The JWKS endpoint is unavailable"})
    assert json.dumps(body)  # a JSON answer
