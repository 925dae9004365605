"""PEM certificates and keys, parsed with ``cryptography`` (Kong uses OpenSSL the same way)."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

__all__ = ["load_certificate", "load_private_key", "public_key_pem", "validate_certificate", "validate_key"]


def load_certificate(pem: str) -> x509.Certificate:
    """The first certificate of a PEM string; ValueError when there is none."""
    return x509.load_pem_x509_certificate(pem.encode("utf-8"))


def load_private_key(pem: str) -> Any:
    """An unencrypted PEM private key; ValueError/TypeError when it cannot be loaded."""
    return serialization.load_pem_private_key(pem.encode("utf-8"), password=None)


def public_key_pem(key: Any) -> bytes:
    """The SubjectPublicKeyInfo PEM of a public key (or of a private key's public half)."""
    public = key.public_key() if hasattr(key, "private_bytes") else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def validate_certificate(pem: str) -> tuple[bool | None, str | None]:
    try:
        load_certificate(pem)
    except ValueError:
        return None, "invalid certificate: unable to load PEM certificate"
    return True, None


def validate_key(pem: str) -> tuple[bool | None, str | None]:
    try:
        load_private_key(pem)
    except (ValueError, TypeError):
        return None, "invalid key: unable to load unencrypted PEM private key"
    except Exception as exc:  # noqa: BLE001 - e.g. unsupported algorithms
        return None, f"invalid key: {exc}"
    return True, None
