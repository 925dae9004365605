"""oauth2-introspection's configuration, as Kong Enterprise documents it."""

from __future__ import annotations

from typing import Any

from host.schema import typedefs

__all__ = ["SCHEMA"]

_FIELDS: list[dict[str, Any]] = [
    {
        "introspection_url": typedefs.url(
            required=True, description="The RFC 7662 introspection endpoint of the authorization server."
        )
    },
    {
        "authorization_value": {
            "type": "string",
            "required": True,
            "encrypted": True,
            "referenceable": True,
            "description": "The Authorization header sent to the introspection endpoint "
            "(usually `Basic <base64 client_id:client_secret>`).",
        }
    },
    {
        "token_type_hint": {
            "type": "string",
            "description": "The token_type_hint sent with each introspection request.",
        }
    },
    {
        "ttl": {
            "type": "number",
            "default": 30,
            "between": [0, 31536000],
            "description": "Seconds an active introspection result is cached (0: until the token's exp, "
            "or for ever without one). Inactive results are not cached.",
        }
    },
    {
        "hide_credentials": {
            "type": "boolean",
            "default": True,
            "description": "Remove the token (Authorization header or access_token argument) before "
            "proxying.",
        }
    },
    {
        "consumer_by": {
            "type": "string",
            "default": "username",
            "required": True,
            "one_of": ["username", "client_id"],
            "description": "Map the token's `username` to a consumer's username, or its `client_id` to a "
            "consumer's custom_id.",
        }
    },
    {
        "anonymous": {
            "type": "string",
            "len_min": 0,
            "default": "",
            "description": "Consumer (id or username) used when authentication fails; empty: answer 401.",
        }
    },
    {
        "run_on_preflight": {
            "type": "boolean",
            "default": True,
            "description": "Authenticate OPTIONS requests too; when false they pass unauthenticated.",
        }
    },
    {
        "timeout": {
            "type": "integer",
            "default": 10000,
            "between": [1, 2147483646],
            "description": "Milliseconds an introspection request may take in all.",
        }
    },
    {
        "keepalive": {
            "type": "integer",
            "default": 60000,
            "between": [0, 2147483646],
            "description": "Milliseconds an idle connection to the endpoint is kept open (0: none kept).",
        }
    },
    {
        "introspect_request": {
            "type": "boolean",
            "default": False,
            "required": True,
            "description": "Send the request's path and method to the endpoint as X-Request-Path and "
            "X-Request-Http-Method (results are then cached per path and method).",
        }
    },
    {
        "custom_introspection_headers": {
            "type": "map",
            "keys": typedefs.header_name,
            "values": {"type": "string"},
            "default": {},
            "required": True,
            "description": "Extra headers sent to the introspection endpoint.",
        }
    },
    {
        "custom_claims_forward": {
            "type": "set",
            "elements": {"type": "string"},
            "default": [],
            "required": True,
            "description": "More claims of the introspection result forwarded upstream as "
            "X-Credential-<claim>.",
        }
    },
]

SCHEMA: dict[str, Any] = {
    "fields": [
        {"consumer": typedefs.no_consumer},
        {"protocols": typedefs.protocols_http},
        {"config": {"type": "record", "fields": _FIELDS}},
    ]
}
