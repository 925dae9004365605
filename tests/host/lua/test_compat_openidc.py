"""``resty.openidc``'s resource-server half, through the compat-openidc plugin
(tests/lua_plugins/kong/plugins/compat-openidc): discovery, token introspection with
client authentication, and JWT access tokens checked with the provider's JWKS.  The
provider is a local aiohttp app."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt as pyjwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from host.lua.runtime import LuaHost
from tests.conftest import service
from tests.host.lua.test_smoke import LUA_PLUGINS

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Provider:
    """An OpenID provider: discovery, introspection and JWKS; it records what it was sent."""

    def __init__(self) -> None:
        self.url = ""
        self.introspections: list[tuple[str | None, dict[str, str]]] = []
        self.jwks_fetches = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_post("/introspect", self.introspect)
        app.router.add_get("/jwks", self.jwks)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.url,
                "introspection_endpoint": self.url + "/introspect",
                "jwks_uri": self.url + "/jwks",
            }
        )

    async def introspect(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.introspections.append(
            (request.headers.get("Authorization"), {k: str(v) for k, v in form.items()})
        )
        if form.get("token") == "good-token":
            return web.json_response({"active": True, "sub": "alice", "exp": int(time.time()) + 300})
        return web.json_response({"active": False})

    async def jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
        return web.json_response({"keys": [{**jwk, "kid": "k1", "use": "sig"}]})


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    found = Provider()
    runner = web.AppRunner(found.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield found
    await runner.cleanup()


@pytest.fixture
async def gateway(make_gateway, echo_upstream, provider):
    discovery = provider.url + "/.well-known/openid-configuration"

    def route(name: str, **conf: Any) -> dict[str, Any]:
        plugin = {"name": "compat-openidc", "config": {"discovery": discovery, **conf}}
        return {"name": name, "paths": [f"/{name}"], "plugins": [plugin]}

    config = {
        "_format_version": "3.0",
        "services": [
            {
                **service(echo_upstream),
                "routes": [
                    route("basic"),
                    route("post", auth_method="client_secret_post"),
                    route("jwt", mode="jwt"),
                ],
            }
        ],
    }
    return await make_gateway(config, plugins_dirs=[LUA_PLUGINS])


async def get(http: Any, url: str, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as resp:
        return resp.status, await resp.json()


def upstream_headers(body: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in body["headers"].items()}


async def test_introspection_with_client_secret_basic(gateway, provider, http):
    status, body = await get(http, gateway.url + "/basic", "good-token")
    assert status == 200
    assert upstream_headers(body)["x-subject"] == "alice"
    assert upstream_headers(body)["x-issuer"] == provider.url
    authorization, form = provider.introspections[-1]
    assert authorization == "Basic " + base64.b64encode(b"gateway:s3cret").decode()
    assert form == {"token": "good-token", "client_id": "gateway", "client_secret": "s3cret"}


async def test_introspection_with_client_secret_post_and_failures(gateway, provider, http):
    status, body = await get(http, gateway.url + "/post", "good-token")
    assert status == 200
    authorization, form = provider.introspections[-1]
    assert authorization is None
    assert form["client_id"] == "gateway" and form["client_secret"] == "s3cret"
    assert await get(http, gateway.url + "/post", "revoked") == (401, {"message": "invalid token"})
    assert await get(http, gateway.url + "/post", None) == (401, {"message": "no Authorization header found"})


def token(key: Any, **claims: Any) -> str:
    payload = {"sub": "bob", "exp": int(time.time()) + 300, **claims}
    return pyjwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


async def test_jwt_access_tokens_are_checked_with_the_providers_jwks(gateway, provider, http):
    status, body = await get(http, gateway.url + "/jwt", token(KEY))
    assert status == 200
    assert upstream_headers(body)["x-subject"] == "bob"
    status, body = await get(http, gateway.url + "/jwt", token(OTHER))
    assert status == 401
    assert body["message"].startswith("jwt signature verification failed")
    status, body = await get(http, gateway.url + "/jwt", token(KEY, exp=int(time.time()) - 3600))
    assert status == 401
    assert "exp" in body["message"]
    hs256 = pyjwt.encode({"sub": "eve"}, "secret-of-at-least-32-bytes-long!", algorithm="HS256")
    assert await get(http, gateway.url + "/jwt", hs256) == (
        401,
        {"message": 'token is signed by unexpected algorithm "HS256"'},
    )
    assert provider.jwks_fetches == 1  # cached in ngx.shared.jwks, as lua-resty-openidc does


def test_the_login_flow_says_what_it_needs() -> None:
    fn = LuaHost().compile_in("t", "local o = require 'resty.openidc' return pcall(o.authenticate, {})")
    ok, err = fn()
    assert ok is False
    assert b"authenticate needs resty.session" in err
