"""jwt: authenticate requests carrying a signed JSON Web Token, as Kong's jwt plugin does.

The token comes from the ``uri_param_names`` query arguments, the ``cookie_names``
cookies or a ``Bearer`` value in the ``header_names`` headers.  Its
``key_claim_name`` claim (``iss`` by default, read from the payload then the header)
names a ``jwt_secrets`` credential, whose ``algorithm`` the token must use and whose
``secret`` (HS*) or ``rsa_public_key`` (RS*, PS*, ES*, EdDSA) must verify its
signature; ``claims_to_verify`` and ``maximum_expiration`` are checked next.  Then the
credential's consumer is authenticated and the upstream gets Kong's ``X-Consumer-*``
and ``X-Credential-Identifier`` headers.  Failures answer 401 with Kong's messages,
or fall back to the ``anonymous`` consumer ("logical OR" with other auth plugins).

With ``jwks_uri`` (Moongate's JWKS mode) the keys come from an identity provider's
JWK set instead, matched by the token's ``kid`` (see ``_jwks.py``).

Verified tokens are remembered (``_token.VerifiedCache``): a token seen again costs a
dict lookup and the time checks, not a signature verification.
"""

from __future__ import annotations

import re
import time
from typing import Any

from host.context import current_context
from host.version import KONG_COMPAT_VERSION
from py_plugins.jwt._jwks import JwksError, store
from py_plugins.jwt._schema import SCHEMA
from py_plugins.jwt._secrets import secrets_of
from py_plugins.jwt._token import Decoded, TokenError, VerifiedCache, claim_errors, decode, verify_signature

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin"]

NAME = "jwt"
PRIORITY = 1450
VERSION = KONG_COMPAT_VERSION

_BEARER = re.compile(r"[Bb]earer\s+(.+)")
_VERIFIED = VerifiedCache()


class _Failure(Exception):
    """Authentication failed: the 401 Kong sends (or the anonymous consumer takes over)."""

    def __init__(self, body: Any, www: bool | None = True) -> None:
        super().__init__(body)
        self.body = body
        self.www = www  # True: with error="invalid_token"; False: the bare challenge; None: no header


def _fail(message: str) -> _Failure:
    return _Failure({"message": message})


def _challenge(conf: dict[str, Any], with_error: bool) -> str:
    realm = conf.get("realm")
    base = f'Bearer realm="{realm}"' if realm else "Bearer"
    if not with_error:
        return base
    return f'{base}, error="invalid_token"' if realm else 'Bearer error="invalid_token"'


def _cookie_tokens(header: str, names: list[str], found: dict[Any, None]) -> None:
    wanted = {name.lower() for name in names}
    seen: set[str] = set()
    for part in header.split(";"):
        name, eq, value = part.strip().partition("=")
        lname = name.lower()
        if eq and lname in wanted and lname not in seen:
            seen.add(lname)  # like nginx's $cookie_<name>: the first one
            if value:
                found[value] = None


def retrieve_tokens(kong: Any, conf: dict[str, Any]) -> list[Any]:
    """The distinct tokens of the request: query arguments, then cookies, then headers."""
    found: dict[Any, None] = {}
    names = conf["uri_param_names"]
    if names and kong.request.get_raw_query():
        args = kong.request.get_query()
        for name in names:
            value = args.get(name)
            for item in value if isinstance(value, list) else (value,):
                if item is not None and item != "":
                    found[item] = None
    if conf["cookie_names"]:
        cookie = kong.request.get_header("cookie")
        if cookie:
            _cookie_tokens(cookie, conf["cookie_names"], found)
    for name in conf["header_names"]:
        value = kong.request.get_header(name)
        if value:
            match = _BEARER.search(value)
            if match:
                found[match[1]] = None
    return list(found)


def _key_of(decoded: Decoded, claim_name: str) -> Any:
    value = decoded.claims.get(claim_name)
    if value is None or value is False:  # Lua's `claims[k] or header[k]`
        value = decoded.header.get(claim_name)
    return value


def _check_claims(token: str, decoded: Decoded, conf: dict[str, Any]) -> None:
    errors = claim_errors(
        decoded.claims, conf["claims_to_verify"], conf["maximum_expiration"], int(time.time())
    )
    if errors is not None:
        _VERIFIED.drop(token)
        raise _Failure(errors)


def _with_secrets(conf: dict[str, Any], token: str) -> tuple[Any, Any]:
    """Verify ``token`` with the jwt_secrets; returns (consumer, credential)."""
    claim_name = conf["key_claim_name"]
    variant = (claim_name, conf["secret_is_base64"])
    index = secrets_of(current_context().snapshot)
    hit = _VERIFIED.get(token, variant)
    if hit is not None and index.get(_key_of(hit[1], claim_name)) is hit[0]:
        secret, decoded = hit
    else:
        try:
            decoded = decode(token)
        except TokenError as exc:
            raise _fail(f"Bad token; {exc}") from None
        key = _key_of(decoded, claim_name)
        if key is None or key is False:
            raise _fail(f"No mandatory '{claim_name}' in claims")
        if key == "":
            raise _fail(f"Invalid '{claim_name}' in claims")
        secret = index.get(key) if isinstance(key, str) else None
        if secret is None:
            raise _fail(f"No credentials found for given '{claim_name}'")
        if decoded.alg != secret.algorithm:
            raise _fail("Invalid algorithm")
        prepared = secret.key(conf["secret_is_base64"])
        if prepared is None:
            raise _fail("Invalid key/secret")
        if not verify_signature(decoded, prepared):
            raise _fail("Invalid signature")
        hit = None
    _check_claims(token, decoded, conf)
    if hit is None:
        _VERIFIED.put(token, secret, variant, decoded)
    if secret.consumer is None:
        key = _key_of(decoded, claim_name)
        raise _Failure({"message": f"Could not find consumer for '{claim_name}={key}'"}, www=None)
    return dict(secret.consumer), dict(secret.row)


async def _with_jwks(kong: Any, conf: dict[str, Any], token: str) -> tuple[Any, Any]:
    """Verify ``token`` with the JWK set of ``jwks_uri``; returns (consumer, credential)."""
    uri, ttl = conf["jwks_uri"], conf["jwks_ttl"]
    keys = store()
    try:
        keyset = await keys.keys(uri, ttl)
    except JwksError as exc:
        kong.log.err("jwks: ", str(exc))
        kong.response.exit(503, {"message": "The JWKS endpoint is unavailable"})
    variant = ("jwks", uri)
    hit = _VERIFIED.get(token, variant)
    if hit is not None and keyset.find(hit[1].header.get("kid")) is hit[0]:
        jwk, decoded = hit
    else:
        try:
            decoded = decode(token)
        except TokenError as exc:
            raise _fail(f"Bad token; {exc}") from None
        if decoded.alg not in conf["jwks_algorithms"]:
            raise _fail("Invalid algorithm")
        kid = decoded.header.get("kid")
        jwk = keyset.find(kid)
        if jwk is None:
            try:
                newer = await keys.refresh(uri, ttl, keyset)
            except JwksError as exc:
                kong.log.err("jwks: ", str(exc))
                newer = None
            jwk = newer.find(kid) if newer is not None else None
            if jwk is None:
                raise _fail("No credentials found for given 'kid'")
            keyset = newer
        try:
            prepared = keyset.key(jwk, decoded.alg)
        except ValueError:
            raise _fail("Invalid algorithm") from None
        if not verify_signature(decoded, prepared):
            raise _fail("Invalid signature")
        hit = None
    if decoded.alg not in conf["jwks_algorithms"]:  # a cached token, after a reload
        raise _fail("Invalid algorithm")
    _check_claims(token, decoded, conf)
    if hit is None:
        _VERIFIED.put(token, jwk, variant, decoded)
    credential = {"key": jwk.get("kid") or uri, "jwks_uri": uri}
    claim = conf.get("jwks_consumer_claim")
    if not claim:
        return None, credential
    value = decoded.claims.get(claim)
    if not isinstance(value, str) or not value:
        raise _fail(f"No mandatory '{claim}' in claims")
    consumer = kong.client.load_consumer(value, True)
    if consumer is None:
        raise _Failure({"message": f"Could not find consumer for '{claim}={value}'"}, www=None)
    return consumer, credential


def set_consumer(kong: Any, consumer: Any, credential: Any, token: str | None) -> None:
    """Authenticate, and set or clear the upstream headers exactly as Kong's jwt does."""
    kong.client.authenticate(consumer, credential)
    set_header = kong.service.request.set_header
    clear_header = kong.service.request.clear_header
    for header, field in (
        ("X-Consumer-ID", "id"),
        ("X-Consumer-Custom-ID", "custom_id"),
        ("X-Consumer-Username", "username"),
    ):
        value = consumer.get(field) if consumer else None
        if value:
            set_header(header, value)
        else:
            clear_header(header)
    key = credential.get("key") if credential else None
    if key:
        set_header("X-Credential-Identifier", key)
    else:
        clear_header("X-Credential-Identifier")
    if credential:
        clear_header("X-Anonymous-Consumer")
    else:
        set_header("X-Anonymous-Consumer", "true")
    shared = kong.ctx.shared
    if token is None:
        shared.pop("authenticated_jwt_token", None)
    else:
        shared["authenticated_jwt_token"] = token


def _set_anonymous(kong: Any, anonymous: str) -> None:
    consumer = kong.client.load_consumer(anonymous, True)
    if consumer is None:
        message = f"anonymous consumer {anonymous} is configured but doesn't exist"
        kong.log.err(message)
        kong.response.error(500, message)
    set_consumer(kong, consumer, None, None)


class Plugin:
    """Kong's jwt access handler (an ``async`` handler: JWKS mode may fetch keys)."""

    async def access(self, kong: Any, conf: dict[str, Any]) -> None:
        if not conf["run_on_preflight"] and kong.request.get_method() == "OPTIONS":
            return
        anonymous = conf.get("anonymous")
        if anonymous and kong.client.get_credential():
            return  # already authenticated by another plugin ("logical OR")
        try:
            tokens = retrieve_tokens(kong, conf)
            if not tokens:
                raise _Failure({"message": "Unauthorized"}, www=False)
            if len(tokens) > 1:
                raise _fail("Multiple tokens provided")
            token = tokens[0]
            if not isinstance(token, str):
                raise _fail("Unrecognizable token")
            if conf.get("jwks_uri"):
                consumer, credential = await _with_jwks(kong, conf, token)
            else:
                consumer, credential = _with_secrets(conf, token)
        except _Failure as failure:
            if anonymous:
                _set_anonymous(kong, anonymous)
                return
            headers = None if failure.www is None else {"WWW-Authenticate": _challenge(conf, failure.www)}
            kong.response.exit(401, failure.body, headers)
        set_consumer(kong, consumer, credential, token)
