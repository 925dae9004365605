"""jwt against hostile tokens: alg none, algorithm confusion, oversized tokens, cached tokens."""

from __future__ import annotations

import asyncio
import time

from tests.bundled.jwt._helpers import RSA_PRIVATE, RSA_PUBLIC, b64, bearer, config, now, sign, token


async def _status(gw, path, **kwargs):
    resp = await gw.get(path, **kwargs)
    return resp.status, resp.body


async def test_alg_none_is_refused(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream))
    header, claims = b64(b'{"alg":"none","typ":"JWT"}'), b64(b'{"iss":"alice-key"}')
    unsigned = f"{header}.{claims}."
    for tok in (unsigned, unsigned + "c2ln", b64(b'{"alg":"None"}') + f".{claims}."):
        status, body = await _status(gw, "/api", headers=bearer(tok))
        assert (status, body) == (401, b'{"message":"Bad token; invalid alg"}')


async def test_hs256_signed_with_the_rsa_public_key_is_refused(gateway, mock_upstream):
    """Algorithm confusion: the attacker knows the public key of an RS256 credential."""
    gw = await gateway.start(config(mock_upstream, algorithm="RS256", rsa_public_key=RSA_PUBLIC))
    good = token(key=RSA_PRIVATE, alg="RS256")
    assert (await _status(gw, "/api", headers=bearer(good)))[0] == 200
    forged = sign({"alg": "HS256", "typ": "JWT"}, {"iss": "alice-key"}, RSA_PUBLIC.encode(), "HS256")
    status, body = await _status(gw, "/api", headers=bearer(forged))
    assert (status, body) == (401, b'{"message":"Invalid algorithm"}')


async def test_rs256_token_cannot_verify_against_an_hs_credential(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream))
    status, body = await _status(gw, "/api", headers=bearer(token(key=RSA_PRIVATE, alg="RS256")))
    assert (status, body) == (401, b'{"message":"Invalid algorithm"}')


async def test_one_megabyte_authorization_header_gets_a_clean_4xx(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream))
    huge = "Bearer " + "A" * (1024 * 1024)
    resp = await gw.get("/api", headers={"Authorization": huge})
    assert 400 <= resp.status < 500
    # the gateway still serves
    assert (await _status(gw, "/api", headers=bearer(token())))[0] == 200


async def test_large_garbage_token_below_the_header_limit(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream))
    junk = "eyJ" + "x" * 6000 + "." + "y" * 1000 + "." + "z"
    status, body = await _status(gw, "/api", headers=bearer(junk))
    assert (status, body) == (401, b'{"message":"Bad token; invalid JSON"}')
    spaces = "Bearer" + " " * 7000 + "x"
    status, body = await _status(gw, "/api", headers={"Authorization": spaces})
    assert (status, body) == (401, b'{"message":"Bad token; invalid JSON"}')


async def test_a_cached_token_still_expires(gateway, mock_upstream):
    gw = await gateway.start(config(mock_upstream, {"claims_to_verify": ["exp"]}))
    exp = now() + 1
    tok = token({"exp": exp})
    assert (await _status(gw, "/api", headers=bearer(tok)))[0] == 200
    assert (await _status(gw, "/api", headers=bearer(tok)))[0] == 200  # from the cache
    while time.time() < exp + 0.05:
        await asyncio.sleep(0.05)
    status, body = await _status(gw, "/api", headers=bearer(tok))
    assert (status, body) == (401, b'{"exp":"token expired"}')


async def test_a_cached_token_is_not_valid_for_another_key_claim(gateway, mock_upstream):
    """The cache is keyed by the configuration that chose the key, not the token alone."""
    cfg = config(mock_upstream)
    cfg["services"][0]["routes"].append(
        {
            "name": "other",
            "paths": ["/other"],
            "plugins": [{"name": "jwt", "config": {"key_claim_name": "sub"}}],
        }
    )
    gw = await gateway.start(cfg)
    tok = token()
    assert (await _status(gw, "/api", headers=bearer(tok)))[0] == 200
    status, body = await _status(gw, "/other", headers=bearer(tok))
    assert (status, body) == (401, b'{"message":"No mandatory \'sub\' in claims"}')
