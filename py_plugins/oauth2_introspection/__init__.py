"""oauth2-introspection: validate opaque OAuth 2.0 access tokens with the authorization server.

The token comes from ``Authorization: Bearer <token>`` (or ``Token <token>``), else
from the ``access_token`` query argument or form field.  It is posted to the
RFC 7662 ``introspection_url`` with the client credentials of
``authorization_value``; an active result is cached for ``ttl`` seconds (see
``_client.py``).  Then the consumer named by the result's ``username``
(``consumer_by: username``, matched with consumers' username) or ``client_id``
(``consumer_by: client_id``, matched with consumers' custom_id) is authenticated,
when there is one, and the upstream gets the ``X-Consumer-*`` headers and the
result's fields as ``X-Credential-*`` headers.  A missing, inactive or unknown
token answers 401 with RFC 6750 errors (or passes as ``anonymous``); an endpoint
that is down or too slow answers 503 within ``timeout``, one that answers
nonsense 500.
"""

from __future__ import annotations

from typing import Any

import orjson

from host.version import KONG_COMPAT_VERSION
from py_plugins.oauth2_introspection._client import IntrospectionError, close_sessions, introspect
from py_plugins.oauth2_introspection._schema import SCHEMA

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin", "shutdown"]

NAME = "oauth2-introspection"
PRIORITY = 1700
VERSION = KONG_COMPAT_VERSION

_FORM = "application/x-www-form-urlencoded"
_INVALID = "The access token is invalid or has expired"
#: result fields forwarded upstream, as X-Credential-<Name>
_FORWARDED = (
    ("scope", "Scope"),
    ("client_id", "Client-ID"),
    ("username", "Username"),
    ("token_type", "Token-Type"),
    ("exp", "Exp"),
    ("iat", "Iat"),
    ("nbf", "Nbf"),
    ("sub", "Sub"),
    ("aud", "Aud"),
    ("iss", "Iss"),
    ("jti", "Jti"),
)
_CONSUMER_HEADERS = (
    ("X-Consumer-ID", "id"),
    ("X-Consumer-Custom-ID", "custom_id"),
    ("X-Consumer-Username", "username"),
)


class _Failure(Exception):
    """A 401 (or the anonymous consumer takes over)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def find_token(kong: Any) -> tuple[str | None, str | None]:
    """The access token and where it was: ``header``, ``query`` or ``body``."""
    header = kong.request.get_header("authorization")
    if header:
        parts = header.split()
        if len(parts) == 2 and parts[0].lower() in ("bearer", "token"):
            return parts[1], "header"
    value = kong.request.get_query_arg("access_token")
    if isinstance(value, str) and value:
        return value, "query"
    content_type = kong.request.get_header("content-type") or ""
    if kong.request.get_method() != "GET" and _FORM in content_type.lower():
        body = kong.request.get_body(_FORM)
        value = body.get("access_token") if isinstance(body, dict) else None
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value:
            return value, "body"
    return None, None


def _hide(kong: Any, where: str) -> None:
    if where == "header":
        kong.service.request.clear_header("Authorization")
    elif where == "query":
        kong.service.request.clear_query_arg("access_token")
    else:
        body = dict(kong.request.get_body(_FORM))
        body.pop("access_token", None)
        kong.service.request.set_body(body, _FORM)


def _header_value(value: Any) -> str | None:
    """A result field as a header value; None for what cannot travel in a header."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = ",".join(value)
    else:
        text = orjson.dumps(value).decode()
    if any(c in text for c in "\r\n\0"):
        return None  # never let the authorization server inject headers
    return text


def _find_consumer(kong: Any, conf: dict[str, Any], result: dict[str, Any]) -> dict[str, Any] | None:
    from host.context import current_context

    value = result.get(conf["consumer_by"])
    if not isinstance(value, str) or not value:
        return None
    snapshot = current_context().snapshot
    if conf["consumer_by"] == "client_id":
        found = snapshot.consumer_by_custom_id(value)
    else:
        found = snapshot.consumer_by_username(value)
    return None if found is None else dict(found)


def _set_consumer(kong: Any, consumer: Any, result: dict[str, Any] | None, conf: dict[str, Any]) -> None:
    set_header = kong.service.request.set_header
    clear_header = kong.service.request.clear_header
    credential = None
    if result is not None:
        credential = {"id": result.get("jti") or result.get("sub") or result.get("client_id"), **result}
    if consumer is not None or credential is not None:
        kong.client.authenticate(consumer, credential)
    for header, field in _CONSUMER_HEADERS:
        value = consumer.get(field) if consumer else None
        if value:
            set_header(header, value)
        else:
            clear_header(header)
    if result is None:
        set_header("X-Anonymous-Consumer", "true")
        return
    clear_header("X-Anonymous-Consumer")
    forwarded = [*_FORWARDED, *((claim, claim) for claim in conf["custom_claims_forward"])]
    for field, name in forwarded:
        value = result.get(field)
        text = None if value is None else _header_value(value)
        if text is None:
            clear_header(f"X-Credential-{name}")
        else:
            set_header(f"X-Credential-{name}", text)


def _set_anonymous(kong: Any, anonymous: str) -> None:
    consumer = kong.client.load_consumer(anonymous, True)
    if consumer is None:
        message = f"anonymous consumer {anonymous} is configured but doesn't exist"
        kong.log.err(message)
        kong.response.error(500, message)
    kong.client.authenticate(consumer, None)
    for header, field in _CONSUMER_HEADERS:
        value = consumer.get(field)
        if value:
            kong.service.request.set_header(header, value)
        else:
            kong.service.request.clear_header(header)
    kong.service.request.set_header("X-Anonymous-Consumer", "true")


def _challenge(failure: _Failure) -> str:
    if failure.error == "invalid_request":
        return "Bearer"
    return f'Bearer error="{failure.error}", error_description="{failure.description}"'


class Plugin:
    """The access handler: find, introspect (cached), authenticate."""

    async def access(self, kong: Any, conf: dict[str, Any]) -> None:
        if not conf["run_on_preflight"] and kong.request.get_method() == "OPTIONS":
            return
        anonymous = conf.get("anonymous")
        if anonymous and kong.client.get_credential():
            return  # already authenticated by another plugin ("logical OR")
        try:
            token, where = find_token(kong)
            if token is None or where is None:
                raise _Failure("invalid_request", "The access token is missing")
            headers: dict[str, str] = {}
            tag = ""
            if conf["introspect_request"]:
                headers = {
                    "X-Request-Path": kong.request.get_path(),
                    "X-Request-Http-Method": kong.request.get_method(),
                }
                tag = f"{headers['X-Request-Http-Method']} {headers['X-Request-Path']}"
            try:
                result = await introspect(conf, token, headers, tag)
            except IntrospectionError as exc:
                kong.log.err("introspection failed: ", str(exc))
                if exc.unavailable:
                    kong.response.exit(503, {"message": "The introspection endpoint is unavailable"})
                kong.response.exit(500, {"message": "The introspection endpoint gave an invalid answer"})
            if not result["active"]:
                raise _Failure("invalid_token", _INVALID)
        except _Failure as failure:
            if anonymous:
                _set_anonymous(kong, anonymous)
                return
            body = {"error": failure.error, "error_description": failure.description}
            kong.response.exit(401, body, {"WWW-Authenticate": _challenge(failure)})
        _set_consumer(kong, _find_consumer(kong, conf, result), result, conf)
        if conf["hide_credentials"]:
            _hide(kong, where)


async def shutdown() -> None:
    """Host hook, the gateway stops: close the introspection sessions."""
    await close_sessions()
