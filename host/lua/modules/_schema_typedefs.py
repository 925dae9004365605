"""Kong typedefs the Python engine's :mod:`host.schema.typedefs` does not define yet.

``kong.db.schema.typedefs`` for Lua serves every typedef of the Python module plus
these: ``redis_host``, ``redis_server_name``, ``capability``, ``propagation``
(tracing header formats, used by opentelemetry and zipkin), ``pem`` and ``jwk``
(key material, as in Kong's ``keys`` entity).  They are written as Python
:class:`~host.schema.typedefs.Typedef` objects like the others, so there is one
definition of each, and they can move into :mod:`host.schema.typedefs` as is.
"""

from __future__ import annotations

from typing import Any

from host.schema import _net, _pem, _text
from host.schema.typedefs import Typedef
from host.schema.typedefs import names as python_typedef_names
from host.schema.validators import is_reference

__all__ = ["EXTRA_TYPEDEFS", "all_typedefs", "EXTRACTORS", "INJECTORS"]

#: tracing header formats Kong can read (``b3-single`` is read by the ``b3`` extractor)
EXTRACTORS: tuple[str, ...] = ("w3c", "b3", "jaeger", "ot", "datadog", "aws", "gcp", "instana")
#: tracing header formats Kong can write
INJECTORS: tuple[str, ...] = ("w3c", "b3", "b3-single", "jaeger", "ot", "datadog", "aws", "gcp", "instana")


def _validate_pem_keys(values: dict[str, Any]) -> tuple[bool, str | None]:
    """Both halves of a key pair load, and the public key belongs to the private one."""
    public, private = values.get("public_key"), values.get("private_key")
    if is_reference(public) or is_reference(private):
        return True, None
    from cryptography.hazmat.primitives import serialization

    public_pem = private_pem = None
    if isinstance(public, str):
        try:
            public_pem = _pem.public_key_pem(serialization.load_pem_public_key(public.encode("utf-8")))
        except (ValueError, TypeError):
            return False, "could not load public key"
    if isinstance(private, str):
        try:
            private_pem = _pem.public_key_pem(_pem.load_private_key(private))
        except (ValueError, TypeError):
            return False, "could not load private key"
    if public_pem is not None and private_pem is not None and public_pem != private_pem:
        return False, "public key does not match private key"
    return True, None


def _validate_jwk(values: dict[str, Any]) -> tuple[bool, str | None]:
    """The record loads as a JSON Web Key."""
    import jwt

    key = {k: v for k, v in values.items() if v is not None}
    try:
        jwt.PyJWK(key)
    except Exception:  # noqa: BLE001 - any failure means "not a usable key"
        return False, "could not load JWK, likely not a valid key"
    return True, None


def _optional(kind: str = "string", **attrs: Any) -> dict[str, Any]:
    return {"type": kind, "required": False, **attrs}


_JWK_MEMBERS = (
    "issuer", "kty", "use", "key_ops", "alg", "kid", "x5u", "x5c", "x5t", "x5t#S256",
    "k", "x", "y", "crv", "n", "e", "d", "p", "q", "dp", "dq", "qi", "oth", "r", "t",
)  # fmt: skip


def _jwk_field(member: str) -> dict[str, Any]:
    if member in ("key_ops", "x5c"):
        return {member: _optional("array", elements=_optional())}
    if member == "kid":
        return {member: {"type": "string", "required": True}}
    return {member: _optional()}


EXTRA_TYPEDEFS: dict[str, Typedef] = {
    "redis_host": Typedef(
        "redis_host",
        {
            "type": "string",
            "custom_validator": _net.validate_host,
            "description": "The host name or IP address of the Redis server.",
        },
    ),
    "redis_server_name": Typedef(
        "redis_server_name",
        {
            "type": "string",
            "custom_validator": _net.validate_sni,
            "description": "The server name (SNI) to send when connecting to Redis over TLS.",
        },
    ),
    "capability": Typedef("capability", {"type": "string", "description": "The name of an RPC capability."}),
    "propagation": Typedef(
        "propagation",
        {
            "type": "record",
            "fields": [
                {
                    "extract": {
                        "type": "array",
                        "elements": {"type": "string", "one_of": list(EXTRACTORS)},
                        "description": "Tracing header formats read from requests, first match wins.",
                    }
                },
                {
                    "clear": {
                        "type": "array",
                        "elements": {"type": "string", "custom_validator": _text.validate_header_name},
                        "description": "Headers removed from the request once the context was read.",
                    }
                },
                {
                    "inject": {
                        "type": "array",
                        "elements": {"type": "string", "one_of": ["preserve", *INJECTORS]},
                        "description": "Tracing header formats written upstream ('preserve': as received).",
                    }
                },
                {
                    "default_format": {
                        "type": "string",
                        "one_of": list(INJECTORS),
                        "required": True,
                        "description": "The format injected when 'preserve' found nothing to preserve.",
                    }
                },
            ],
            "description": "Which tracing headers are read, cleared and written.",
        },
    ),
    "pem": Typedef(
        "pem",
        {
            "type": "record",
            "required": False,
            "fields": [
                {"private_key": _optional(referenceable=True, encrypted=True)},
                {"public_key": _optional(referenceable=True)},
            ],
            "entity_checks": [{"at_least_one_of": ["private_key", "public_key"]}],
            "custom_validator": _validate_pem_keys,
            "description": "A PEM key pair (either half may be a vault reference).",
        },
    ),
    "jwk": Typedef(
        "jwk",
        {
            "type": "record",
            "required": False,
            "fields": [_jwk_field(member) for member in _JWK_MEMBERS],
            "custom_validator": _validate_jwk,
            "description": "A JSON Web Key.",
        },
    ),
}


def all_typedefs() -> dict[str, Typedef]:
    """Every typedef Lua plugins can use: the engine's own, then the extras above."""
    from host.schema import typedefs

    found = {name: getattr(typedefs, name) for name in python_typedef_names()}
    for name, typedef in EXTRA_TYPEDEFS.items():
        found.setdefault(name, typedef)
    return found
