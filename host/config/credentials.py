"""Credential entities of the auth plugins (their ``daos.lua``) and their write transformations.

These collections exist only when their plugin is enabled.  With ``_transform:
true`` (the default) basic-auth passwords are stored as
``sha1(password .. consumer_id)`` in hex, and OAuth2 client secrets with
``hash_secret: true`` as PBKDF2-SHA512 PHC strings, both as Kong does (each is a
:class:`~host.config.transformations.Transformation` of its entity type).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization

from host.config.entities import EntityType, _entity
from host.config.transformations import Transformation
from host.schema import typedefs
from host.schema._text import parse_url

__all__ = ["CREDENTIALS", "basicauth_hash", "pbkdf2_hash"]

_CONSUMER = {"type": "foreign", "reference": "consumers", "required": True, "on_delete": "cascade"}
_JWT_ALGORITHMS = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
    "PS256", "PS384", "PS512", "EdDSA",
]  # fmt: skip
_JWT_KEYED = ["^RS256$", "^RS384$", "^RS512$", "^PS256$", "^PS384$", "^PS512$", "^EdDSA$"]
PBKDF2_ITERATIONS = 10000


def _validate_public_key(key: str) -> tuple[bool | None, str | None]:
    data = key.encode("utf-8")
    for loader in (serialization.load_pem_public_key, _load_private):
        try:
            loader(data)
            return True, None
        except (ValueError, TypeError):
            continue
        except Exception:  # noqa: BLE001 - unsupported key types
            break
    return None, "invalid key"


def _load_private(data: bytes) -> Any:
    return serialization.load_pem_private_key(data, password=None)


def _validate_redirect_uri(uri: str) -> tuple[bool | None, str | None]:
    parsed = parse_url(uri)
    if not (parsed["host"] and parsed["scheme"]):
        return None, f"cannot parse '{uri}'"
    if "#" in uri:
        return None, f"fragment not allowed in '{uri}'"
    return True, None


def _base(*fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": typedefs.uuid},
        {"created_at": typedefs.auto_timestamp_s},
        {"consumer": _CONSUMER},
        *fields,
    ]


KEYAUTH = _entity(
    "keyauth_credentials",
    {
        "fields": _base(
            {"key": {"type": "string", "required": False, "unique": True, "auto": True}},
            {"tags": typedefs.tags},
            {"ttl": typedefs.ttl(description="Seconds until the key expires (DB-backed Kong only).")},
        )
    },
    endpoint_key="key",
    cache_key=("key",),
    secret=("key",),
    plugin="key-auth",
)
BASICAUTH = _entity(
    "basicauth_credentials",
    {
        "fields": _base(
            {"username": {"type": "string", "required": True, "unique": True}},
            {"password": {"type": "string", "required": True, "encrypted": True}},
            {"tags": typedefs.tags},
        )
    },
    endpoint_key="username",
    cache_key=("username",),
    label=("username",),
    secret=("password",),
    plugin="basic-auth",
    transformations=(
        Transformation(
            input=("password",),
            needs=("consumer.id",),
            on_write=lambda password, consumer_id: {"password": basicauth_hash(password, consumer_id)},
        ),
    ),
)
JWT_SECRETS = _entity(
    "jwt_secrets",
    {
        "fields": _base(
            {"key": {"type": "string", "required": False, "unique": True, "auto": True}},
            {"secret": {"type": "string", "auto": True}},
            {"rsa_public_key": {"type": "string"}},
            {"algorithm": {"type": "string", "default": "HS256", "one_of": _JWT_ALGORITHMS}},
            {"tags": typedefs.tags},
        ),
        "entity_checks": [
            {
                "conditional": {
                    "if_field": "algorithm",
                    "if_match": {"match_any": {"patterns": _JWT_KEYED}},
                    "then_field": "rsa_public_key",
                    "then_match": {"required": True, "custom_validator": _validate_public_key},
                }
            }
        ],
    },
    endpoint_key="key",
    cache_key=("key",),
    label=("key",),
    secret=("secret",),
    plugin="jwt",
)
ACLS = _entity(
    "acls",
    {"fields": _base({"group": {"type": "string", "required": True}}, {"tags": typedefs.tags})},
    cache_key=("consumer", "group"),
    label=("group",),
    plugin="acl",
)
HMACAUTH = _entity(
    "hmacauth_credentials",
    {
        "fields": _base(
            {"username": {"type": "string", "required": True, "unique": True}},
            {"secret": {"type": "string", "auto": True}},
            {"tags": typedefs.tags},
        )
    },
    endpoint_key="username",
    cache_key=("username",),
    label=("username",),
    secret=("secret",),
    plugin="hmac-auth",
)
OAUTH2 = _entity(
    "oauth2_credentials",
    {
        "fields": _base(
            {"name": {"type": "string", "required": True}},
            {"client_id": {"type": "string", "required": False, "unique": True, "auto": True}},
            {"client_secret": {"type": "string", "required": False, "auto": True, "encrypted": True}},
            {"hash_secret": {"type": "boolean", "required": True, "default": False}},
            {
                "redirect_uris": {
                    "type": "array",
                    "required": False,
                    "elements": {"type": "string", "custom_validator": _validate_redirect_uri},
                }
            },
            {"tags": typedefs.tags},
            {
                "client_type": {
                    "type": "string",
                    "required": True,
                    "default": "confidential",
                    "one_of": ["confidential", "public"],
                }
            },
        )
    },
    endpoint_key="client_id",
    cache_key=("client_id",),
    label=("name",),
    secret=("client_secret",),
    plugin="oauth2",
    transformations=(
        Transformation(
            input=("hash_secret",),
            needs=("client_secret",),
            on_write=lambda hash_secret, secret: (
                {"client_secret": pbkdf2_hash(secret)} if hash_secret else {}
            ),
        ),
    ),
)

#: credential entity types, in Kong's declarative order
CREDENTIALS: tuple[EntityType, ...] = (KEYAUTH, BASICAUTH, JWT_SECRETS, ACLS, HMACAUTH, OAUTH2)


def basicauth_hash(password: str, consumer_id: str) -> str:
    """Kong's basic-auth password hash: hex SHA-1 of ``password .. consumer_id``."""
    return hashlib.sha1((password + consumer_id).encode("utf-8"), usedforsecurity=False).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def pbkdf2_hash(secret: str, salt: bytes | None = None) -> str:
    """Kong's OAuth2 client secret hash: ``$pbkdf2-sha512$i=10000,l=32$<salt>$<hash>`` (PHC string)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), salt, PBKDF2_ITERATIONS, 32)
    return f"$pbkdf2-sha512$i={PBKDF2_ITERATIONS},l=32${_b64(salt)}${_b64(digest)}"
