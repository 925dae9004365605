"""Benchmark rows of the jwt plugin: HS256 and RS256 tokens on one route.

Each row's config holds one consumer with one ``jwt_secrets`` credential; wrk sends
one pre-made token with a far-future ``exp`` in ``Authorization: Bearer``, so the rows
measure the steady state of a client that keeps its token (the plugin's cache of
verified tokens answers; ``exp`` is still checked on every request).
"""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.rowspec import RowSpec

__all__ = ["ROWS"]

SECRET = "bench-jwt-secret-0123456789abcdef0123456789abcdef"
CLAIMS = {"iss": "bench-key", "exp": 4102444800}  # 2100-01-01
_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC = (
    _RSA.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
HS256_TOKEN = pyjwt.encode(CLAIMS, SECRET, algorithm="HS256")
RS256_TOKEN = pyjwt.encode(CLAIMS, _RSA, algorithm="RS256")


def _config(up_port: int, credential: dict[str, Any]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bench",
                "url": f"http://127.0.0.1:{up_port}",
                "routes": [
                    {
                        "name": "bench",
                        "paths": ["/"],
                        "plugins": [{"name": "jwt", "config": {"claims_to_verify": ["exp"]}}],
                    }
                ],
            }
        ],
        "consumers": [{"username": "bench", "jwt_secrets": [{"key": "bench-key", **credential}]}],
    }


def jwt_hs256(up_port: int, **_: Any) -> dict[str, Any]:
    """One route with jwt, an HS256 credential."""
    return _config(up_port, {"algorithm": "HS256", "secret": SECRET})


def jwt_rs256(up_port: int, **_: Any) -> dict[str, Any]:
    """One route with jwt, an RS256 credential."""
    return _config(up_port, {"algorithm": "RS256", "rsa_public_key": RSA_PUBLIC})


ROWS = [
    RowSpec("jwt-hs256", "moongate, jwt HS256", jwt_hs256, headers=[f"Authorization: Bearer {HS256_TOKEN}"]),
    RowSpec("jwt-rs256", "moongate, jwt RS256", jwt_rs256, headers=[f"Authorization: Bearer {RS256_TOKEN}"]),
]
