"""Python half of ``resty.jwt``: the public key of a PEM certificate.

lua-resty-jwt verifies RS/PS/ES tokens with either a public key or a certificate;
``resty.openssl.pkey`` reads keys only, so a certificate's key is taken out here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


@lru_cache(maxsize=64)
def _public_pem(pem: bytes) -> bytes:
    cert = x509.load_pem_x509_certificate(pem)
    return cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def cert_public_key(pem: Any) -> tuple[bytes | None, bytes | None]:
    """The certificate's public key as PEM, or nil and the reason."""
    if pem.__class__ is not bytes:
        return None, b"certificate must be a string"
    try:
        return _public_pem(pem), None
    except ValueError as exc:
        return None, f"invalid certificate: {exc}".encode()


def backing(host: LuaHost) -> dict[str, Any]:
    return {"cert_public_key": cert_public_key}
