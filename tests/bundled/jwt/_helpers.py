"""Keys, tokens and declarative configs shared by the jwt tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from tests.conftest import Upstream, service

_ALGORITHMS = get_default_algorithms()


def _pem_pair(private: Any) -> tuple[str, str]:
    priv = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    pub = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return priv, pub


RSA_PRIVATE, RSA_PUBLIC = _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
RSA2_PRIVATE, RSA2_PUBLIC = _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC256_PRIVATE, EC256_PUBLIC = _pem_pair(ec.generate_private_key(ec.SECP256R1()))
EC384_PRIVATE, EC384_PUBLIC = _pem_pair(ec.generate_private_key(ec.SECP384R1()))
ED_PRIVATE, ED_PUBLIC = _pem_pair(ed25519.Ed25519PrivateKey.generate())
HS_SECRET = "a-secret-that-is-long-enough-for-hs512-tokens-0123456789abcdef0123456789"
FAR = 4102444800  # 2100-01-01

#: algorithm -> (signing key, credential fields)
CREDENTIALS: dict[str, tuple[str, dict[str, str]]] = {
    "HS256": (HS_SECRET, {"secret": HS_SECRET}),
    "HS384": (HS_SECRET, {"secret": HS_SECRET}),
    "HS512": (HS_SECRET, {"secret": HS_SECRET}),
    "RS256": (RSA_PRIVATE, {"rsa_public_key": RSA_PUBLIC}),
    "RS384": (RSA_PRIVATE, {"rsa_public_key": RSA_PUBLIC}),
    "RS512": (RSA_PRIVATE, {"rsa_public_key": RSA_PUBLIC}),
    "PS256": (RSA_PRIVATE, {"rsa_public_key": RSA_PUBLIC}),
    "ES256": (EC256_PRIVATE, {"rsa_public_key": EC256_PUBLIC}),
    "ES384": (EC384_PRIVATE, {"rsa_public_key": EC384_PUBLIC}),
    "EdDSA": (ED_PRIVATE, {"rsa_public_key": ED_PUBLIC}),
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(header: dict[str, Any], claims: Any, key: str | bytes, alg: str) -> str:
    """A token with exactly these header and claims, signed with PyJWT's ``alg``."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if alg.startswith("HS"):  # raw HMAC: PyJWT refuses PEM text as a secret, an attacker does not
        raw = key.encode() if isinstance(key, str) else key
        signature = hmac.new(raw, signing_input.encode(), getattr(hashlib, f"sha{alg[2:]}")).digest()
    else:
        algorithm = _ALGORITHMS[alg]
        signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(key))
    return f"{signing_input}.{b64(signature)}"


def token(
    claims: dict[str, Any] | None = None, key: str | bytes = HS_SECRET, alg: str = "HS256", **headers: Any
) -> str:
    """A signed token; ``iss`` defaults to the key of the alice credential (None: no iss)."""
    payload = {k: v for k, v in {"iss": "alice-key", **(claims or {})}.items() if v is not None}
    return sign({"typ": "JWT", "alg": alg, **headers}, payload, key, alg)


def consumers(**secret_fields: Any) -> list[dict[str, Any]]:
    """alice (with one jwt_secrets credential ``alice-key``), bob, and the anonymous consumer."""
    secret = {"key": "alice-key", "secret": HS_SECRET, **secret_fields}
    return [
        {"username": "alice", "custom_id": "alice-cid", "jwt_secrets": [secret]},
        {"username": "bob", "jwt_secrets": [{"key": "bob-key", "secret": "bob-secret"}]},
        {"username": "guest"},
    ]


def config(up: Upstream, plugin_config: dict[str, Any] | None = None, **secret_fields: Any) -> dict[str, Any]:
    """One route /api with jwt on it."""
    return {
        "_format_version": "3.0",
        "services": [
            service(
                up,
                routes=[
                    {
                        "name": "api",
                        "paths": ["/api"],
                        "plugins": [{"name": "jwt", "config": plugin_config or {}}],
                    }
                ],
            )
        ],
        "consumers": consumers(**secret_fields),
    }


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def now() -> int:
    return int(time.time())
