"""Certificate, SNI and CA certificate entities, checked with ``cryptography``.

Kong: ``kong/db/schema/entities/certificates.lua``, ``snis.lua``, ``ca_certificates.lua``.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from host.config.entities import _entity
from host.schema import typedefs
from host.schema._pem import load_certificate, load_private_key, public_key_pem

__all__ = ["CERTIFICATES", "SNIS", "CA_CERTIFICATES", "cert_digest"]

_CERT_TAG = "-----BEGIN CERTIFICATE-----"


def _pair_matches(cert_pem: str, key_pem: str) -> bool:
    return public_key_pem(load_certificate(cert_pem).public_key()) == public_key_pem(
        load_private_key(key_pem)
    )


def _check_cert_key(entity: dict[str, Any]) -> tuple[bool | None, str | None]:
    if _pair_matches(entity["cert"], entity["key"]):
        return True, None
    return None, "certificate does not match key"


def _check_alt_pair(entity: dict[str, Any]) -> tuple[bool | None, str | None]:
    cert, key = entity.get("cert_alt"), entity.get("key_alt")
    if isinstance(cert, str) and isinstance(key, str) and not _pair_matches(cert, key):
        return None, "alternative certificate does not match key"
    return True, None


def _check_alt_type(entity: dict[str, Any]) -> tuple[bool | None, str | None]:
    cert, alt = entity.get("cert"), entity.get("cert_alt")
    if isinstance(cert, str) and isinstance(alt, str) and _key_kind(cert) == _key_kind(alt):
        return None, (
            "certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), "
            "the provided certificates were both of the same type"
        )
    return True, None


def _key_kind(pem: str) -> str:
    """The public key algorithm of a certificate: ``rsa``, ``ec``, ``ed25519``, ..."""
    key = load_certificate(pem).public_key()
    for kind, cls in _KEY_KINDS:
        if isinstance(key, cls):
            return kind
    return type(key).__name__


_KEY_KINDS = (
    ("rsa", rsa.RSAPublicKey),
    ("ec", ec.EllipticCurvePublicKey),
    ("dsa", dsa.DSAPublicKey),
    ("ed25519", ed25519.Ed25519PublicKey),
    ("ed448", ed448.Ed448PublicKey),
)


def _check_ca(entity: dict[str, Any]) -> tuple[bool | None, str | None]:
    pem = entity["cert"]
    first = pem.find(_CERT_TAG)
    if first != -1 and pem.find(_CERT_TAG, first + len(_CERT_TAG) + 1) != -1:
        return None, "please submit only one certificate at a time"
    cert = load_certificate(pem)
    if cert.not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        return None, 'certificate expired, "Not After" time is in the past'
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        return None, 'certificate does not appear to be a CA because it is missing the "CA" basic constraint'
    return True, None


def cert_digest(pem: str) -> str:
    """The SHA-256 hex digest of the certificate's DER encoding (Kong's ``cert_digest``)."""
    der = load_certificate(pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


CERTIFICATES = _entity(
    "certificates",
    {
        "fields": [
            {"id": typedefs.uuid},
            {"created_at": typedefs.auto_timestamp_s},
            {"updated_at": typedefs.auto_timestamp_s},
            {"cert": typedefs.certificate(required=True, referenceable=True)},
            {"key": typedefs.key(required=True, referenceable=True, encrypted=True)},
            {"cert_alt": typedefs.certificate(required=False, referenceable=True)},
            {"key_alt": typedefs.key(required=False, referenceable=True, encrypted=True)},
            {"tags": typedefs.tags},
            {
                "snis": {
                    "type": "array",
                    "elements": typedefs.wildcard_host,
                    "required": False,
                    "transient": True,
                }
            },
        ],
        "entity_checks": [
            {"mutually_required": ["cert_alt", "key_alt"]},
            {"custom_entity_check": {"field_sources": ["cert", "key"], "fn": _check_cert_key}},
            {"custom_entity_check": {"field_sources": ["cert_alt", "key_alt"], "fn": _check_alt_pair}},
            {"custom_entity_check": {"field_sources": ["cert", "cert_alt"], "fn": _check_alt_type}},
        ],
    },
    secret=("key", "key_alt"),
)

SNIS = _entity(
    "snis",
    {
        "fields": [
            {"id": typedefs.uuid},
            {"name": typedefs.wildcard_host(required=True, unique=True, unique_across_ws=True)},
            {"created_at": typedefs.auto_timestamp_s},
            {"updated_at": typedefs.auto_timestamp_s},
            {"tags": typedefs.tags},
            {"certificate": {"type": "foreign", "reference": "certificates", "required": True}},
        ]
    },
    endpoint_key="name",
    label=("name",),
)

CA_CERTIFICATES = _entity(
    "ca_certificates",
    {
        "fields": [
            {"id": typedefs.uuid},
            {"created_at": typedefs.auto_timestamp_s},
            {"updated_at": typedefs.auto_timestamp_s},
            {"cert": typedefs.certificate(required=True)},
            {"cert_digest": {"type": "string", "unique": True}},
            {"tags": typedefs.tags},
        ],
        "entity_checks": [{"custom_entity_check": {"field_sources": ["cert"], "fn": _check_ca}}],
    },
)
