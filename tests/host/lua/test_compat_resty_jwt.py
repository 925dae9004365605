"""``resty.jwt`` and ``resty.jwt-validators`` (lua-resty-jwt), through the compat-resty-jwt
plugin (tests/lua_plugins/kong/plugins/compat-resty-jwt): tokens made by PyJWT are
verified in Lua, and the token the plugin signs for the upstream is checked by PyJWT."""

from __future__ import annotations

import datetime
import time
from email.utils import formatdate
from typing import Any

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.conftest import service
from tests.host.lua.test_smoke import LUA_PLUGINS

ISSUER = "https://issuer.test"
UPSTREAM_SECRET = "upstream-secret-of-32-bytes-long!"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def certificate_pem(key: Any) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def route(name: str, **config: Any) -> dict[str, Any]:
    conf = {"upstream_secret": UPSTREAM_SECRET, **config}
    return {"name": name, "paths": [f"/{name}"], "plugins": [{"name": "compat-resty-jwt", "config": conf}]}


@pytest.fixture
async def gateway(make_gateway, echo_upstream):
    routes = [
        route("rs", verify_key=public_pem(RSA_KEY), issuers=[ISSUER], algorithms=["RS256"]),
        route("hs", verify_key="hmac-secret-of-at-least-48-bytes-for-hs384-tokens!!"),
        route("cert", verify_key=certificate_pem(RSA_KEY)),
        route("es", verify_key=public_pem(EC_KEY)),
    ]
    config = {"_format_version": "3.0", "services": [{**service(echo_upstream), "routes": routes}]}
    return await make_gateway(config, plugins_dirs=[LUA_PLUGINS])


async def call(http: Any, url: str, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as resp:
        return resp.status, await resp.json()


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "alice", "iss": ISSUER, "exp": int(time.time()) + 300, **extra}


async def test_a_valid_token_is_resigned_for_the_upstream(gateway, http):
    token = pyjwt.encode(claims(role="admin"), RSA_KEY, algorithm="RS256", headers={"kid": "k1"})
    status, body = await call(http, gateway.url + "/rs", token)
    assert status == 200
    up = {k.lower(): v for k, v in body["headers"].items()}
    assert (up["x-jwt-sub"], up["x-jwt-alg"]) == ("alice", "RS256")
    signed = up["x-upstream-jwt"]
    assert pyjwt.get_unverified_header(signed) == {"typ": "JWT", "alg": "HS256", "kid": "k1"}
    decoded = pyjwt.decode(signed, UPSTREAM_SECRET, algorithms=["HS256"], issuer=ISSUER)
    assert decoded == {**claims(role="admin"), "exp": decoded["exp"], "via": "moongate"}


@pytest.mark.parametrize(("path", "key", "alg"), [("/cert", RSA_KEY, "RS256"), ("/es", EC_KEY, "ES256")])
async def test_certificates_and_ec_keys_verify(gateway, http, path, key, alg):
    status, body = await call(http, gateway.url + path, pyjwt.encode(claims(), key, algorithm=alg))
    assert status == 200 and body["headers"]["X-JWT-Alg"] == alg


async def test_hmac_tokens(gateway, http):
    secret = "hmac-secret-of-at-least-48-bytes-for-hs384-tokens!!"
    good = pyjwt.encode(claims(), secret, algorithm="HS384")
    assert (await call(http, gateway.url + "/hs", good))[0] == 200
    bad = pyjwt.encode(claims(), secret + "x", algorithm="HS256")
    assert await call(http, gateway.url + "/hs", bad) == (
        401,
        {"message": f"signature mismatch: {bad.rsplit('.', 1)[1]}"},
    )


async def test_refusals_carry_lua_resty_jwts_reason(gateway, http):
    expired_at = int(time.time()) - 10
    cases = {
        "no bearer token": None,
        "invalid jwt string": "not-a-token",
        "Claim 'iss' ('https://evil.test') returned failure": pyjwt.encode(
            claims(iss="https://evil.test"), RSA_KEY, algorithm="RS256"
        ),
        "'iss' claim is required.": pyjwt.encode({"sub": "x"}, RSA_KEY, algorithm="RS256"),
        f"'exp' claim expired at {formatdate(expired_at, usegmt=True)}": pyjwt.encode(
            claims(exp=expired_at), RSA_KEY, algorithm="RS256"
        ),
        "whitelist unsupported alg: ES256": pyjwt.encode(claims(), EC_KEY, algorithm="ES256"),
    }
    for reason, token in cases.items():
        assert await call(http, gateway.url + "/rs", token) == (401, {"message": reason})
    status, body = await call(http, gateway.url + "/rs", pyjwt.encode(claims(), OTHER_KEY, algorithm="RS256"))
    assert status == 401 and body["message"] != "everything is awesome~ :p"
