"""The jwt plugin's configuration: Kong 3.x's fields and checks, plus the JWKS mode.

Kong's fields keep Kong's names, defaults and messages (``maximum_expiration`` needs
``exp`` in ``claims_to_verify``: "expected to contain: exp").  The ``jwks_*`` fields
are Moongate's: with ``jwks_uri`` set, tokens are verified against the keys an
identity provider publishes instead of ``jwt_secrets``.
"""

from __future__ import annotations

from typing import Any

from host.schema import typedefs

__all__ = ["SCHEMA", "SECRET_ALGORITHMS", "JWKS_ALGORITHMS"]

#: algorithms of jwt_secrets credentials (Kong's jwt_parser list)
SECRET_ALGORITHMS = (
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
    "PS256", "PS384", "PS512", "EdDSA",
)  # fmt: skip
#: algorithms a JWKS key may verify: asymmetric only (a public key is never an HMAC secret)
JWKS_ALGORITHMS = tuple(alg for alg in SECRET_ALGORITHMS if not alg.startswith("HS"))


def _string_set(default: list[str], description: str, **elements: Any) -> dict[str, Any]:
    return {
        "type": "set",
        "elements": {"type": "string", **elements},
        "default": default,
        "description": description,
    }


_FIELDS: list[dict[str, Any]] = [
    {"uri_param_names": _string_set(["jwt"], "Query string parameters inspected for a token.")},
    {"cookie_names": _string_set([], "Cookies inspected for a token.")},
    {
        "key_claim_name": {
            "type": "string",
            "default": "iss",
            "description": "The claim (read from the payload, then the header) naming the jwt_secrets key.",
        }
    },
    {
        "secret_is_base64": {
            "type": "boolean",
            "required": True,
            "default": False,
            "description": "The credentials' secrets are base64-encoded; tokens are signed with the decoded bytes.",
        }
    },
    {
        "claims_to_verify": {
            "type": "set",
            "elements": {"type": "string", "one_of": ["exp", "nbf"]},
            "description": "Registered claims to verify: exp, nbf.",
        }
    },
    {
        "anonymous": {
            "type": "string",
            "description": "Consumer (id or username) used when authentication fails, instead of a 401.",
        }
    },
    {
        "run_on_preflight": {
            "type": "boolean",
            "required": True,
            "default": True,
            "description": "Authenticate OPTIONS requests too; when false they pass unauthenticated.",
        }
    },
    {
        "maximum_expiration": {
            "type": "number",
            "default": 0,
            "between": [0, 31536000],
            "description": "Refuse tokens whose exp is more than this many seconds ahead (0: no limit).",
        }
    },
    {
        "header_names": _string_set(
            ["authorization"], "Request headers inspected for a `Bearer <token>` value."
        )
    },
    {
        "realm": {
            "type": "string",
            "required": False,
            "description": "The realm of the WWW-Authenticate header sent with a 401.",
        }
    },
    {
        "jwks_uri": typedefs.url(
            description="Moongate: verify tokens with the keys of this JWKS document (matched by kid) "
            "instead of jwt_secrets."
        )
    },
    {
        "jwks_ttl": {
            "type": "number",
            "default": 300,
            "gt": 0,
            "description": "Moongate: seconds a fetched JWKS document is used before it is fetched again.",
        }
    },
    {
        "jwks_algorithms": {
            "type": "set",
            "elements": {"type": "string", "one_of": list(JWKS_ALGORITHMS)},
            "default": ["RS256", "ES256"],
            "len_min": 1,
            "description": "Moongate: the algorithms accepted in JWKS mode (asymmetric only).",
        }
    },
    {
        "jwks_consumer_claim": {
            "type": "string",
            "description": "Moongate: in JWKS mode, the claim naming the consumer (id or username); "
            "unset: no consumer, the token is the credential.",
        }
    },
]

SCHEMA: dict[str, Any] = {
    "fields": [
        {"consumer": typedefs.no_consumer},
        {"protocols": typedefs.protocols_http},
        {"config": {"type": "record", "fields": _FIELDS}},
    ],
    "entity_checks": [
        {
            "conditional": {
                "if_field": "config.maximum_expiration",
                "if_match": {"gt": 0},
                "then_field": "config.claims_to_verify",
                "then_match": {"contains": "exp"},
            }
        }
    ],
}
