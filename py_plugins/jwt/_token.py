"""Parsing and checking a JWT the way Kong's jwt plugin does, with PyJWT's algorithms.

:func:`decode` splits and decodes a token and checks its ``alg``, with Kong's
messages (``invalid JSON``, ``invalid alg``, ...; the handler prefixes ``Bad token; ``).
:func:`verify_signature` checks the signature with a prepared key: HMAC through
:func:`hmac.compare_digest` (constant time), the others through PyJWT's algorithm
objects (``cryptography`` underneath).  :func:`claim_errors` checks ``exp``/``nbf``
and ``maximum_expiration`` with Kong's error tables.

Verified tokens are remembered in a bounded LRU (:class:`VerifiedCache`) keyed by the
token string: a token seen again is not decoded nor verified again, as long as the
same credential object (one per configuration snapshot) would verify it.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from collections import OrderedDict
from typing import Any

import orjson
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidKeyError

__all__ = [
    "TokenError",
    "Decoded",
    "decode",
    "b64url_decode",
    "prepare_key",
    "verify_signature",
    "claim_errors",
    "VerifiedCache",
    "SUPPORTED",
]

#: every algorithm Kong's jwt_parser knows; anything else (``none`` included) is "invalid alg"
SUPPORTED = frozenset(
    ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
     "PS256", "PS384", "PS512", "EdDSA")
)  # fmt: skip
_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
_PYJWT = get_default_algorithms()
_URL_TO_STD = bytes.maketrans(b"-_", b"+/")


class TokenError(Exception):
    """A token that cannot be parsed; the message is Kong's (after ``Bad token; ``)."""


class Decoded:
    """A parsed token: header and claims (dicts), the signed input and the signature."""

    __slots__ = ("header", "claims", "signing_input", "signature", "alg")

    def __init__(
        self, header: dict[str, Any], claims: dict[str, Any], signing_input: bytes, signature: bytes
    ):
        self.header = header
        self.claims = claims
        self.signing_input = signing_input
        self.signature = signature
        self.alg: str = header["alg"]


def b64url_decode(text: str | bytes) -> bytes:
    """Base64url (or standard base64) without padding, strictly; raises ValueError."""
    data = text.encode("ascii") if isinstance(text, str) else text
    if len(data) % 4 == 1:
        raise ValueError("bad base64 length")
    data = data.translate(_URL_TO_STD) + b"=" * (-len(data) % 4)
    return binascii.a2b_base64(data, strict_mode=True)


def _json_part(part: str) -> Any:
    try:
        return orjson.loads(b64url_decode(part))
    except (ValueError, UnicodeError, orjson.JSONDecodeError) as exc:
        raise TokenError("invalid JSON") from exc


def decode(token: str) -> Decoded:
    """Split and decode ``token``; raises :class:`TokenError` with Kong's reason."""
    parts = token.split(".", 2)
    if len(parts) < 3:  # Kong fails to decode the missing part: "invalid JSON"
        raise TokenError("invalid JSON")
    header_64, claims_64, signature_64 = parts
    header = _json_part(header_64)
    claims = _json_part(claims_64)
    try:
        signature = b64url_decode(signature_64)
    except (ValueError, UnicodeError) as exc:
        raise TokenError("invalid signature") from exc
    if not isinstance(header, dict) or header.get("alg") not in SUPPORTED:
        raise TokenError("invalid alg")
    if not isinstance(claims, dict):
        raise TokenError("invalid claims")
    signing_input = f"{header_64}.{claims_64}".encode("ascii")
    return Decoded(header, claims, signing_input, signature)


def prepare_key(alg: str, material: str | bytes) -> Any:
    """The key object verifying ``alg``: HMAC bytes, or PyJWT's prepared public key.

    Raises ValueError when the material is not a key of that family.
    """
    if alg in _HMAC:
        return material.encode("utf-8") if isinstance(material, str) else material
    try:
        return _PYJWT[alg].prepare_key(material)
    except (InvalidKeyError, ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from exc


def verify_signature(decoded: Decoded, key: Any) -> bool:
    """Whether the token's signature verifies with ``key`` (prepared for ``decoded.alg``)."""
    digest = _HMAC.get(decoded.alg)
    if digest is not None:
        expected = hmac.new(key, decoded.signing_input, digest).digest()
        return hmac.compare_digest(expected, decoded.signature)
    try:
        return bool(_PYJWT[decoded.alg].verify(decoded.signing_input, key, decoded.signature))
    except (ValueError, TypeError):  # e.g. an ECDSA signature of the wrong length
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def claim_errors(claims: dict[str, Any], to_verify: list[str] | None, max_exp: float, now: int) -> Any:
    """Kong's error table for ``claims_to_verify`` then ``maximum_expiration``, or None."""
    errors: dict[str, str] = {}
    for name in to_verify or ():
        value = claims.get(name)
        if not _is_number(value):
            errors[name] = "must be a number"
        elif name == "exp" and value <= now:
            errors[name] = "token expired"
        elif name == "nbf" and value > now:
            errors[name] = "token not valid yet"
    if errors:
        return errors
    if max_exp and max_exp > 0:
        exp = claims.get("exp")
        if not _is_number(exp) or exp - now > max_exp:
            return {"exp": "exceeds maximum allowed expiration"}
    return None


class VerifiedCache:
    """A bounded LRU of verified tokens: token -> (credential, variant, decoded).

    ``credential`` is the object that verified the token (identity is compared, so
    a reload that changes the secret misses), ``variant`` the configuration that
    chose the key.  Expired tokens are dropped when seen.
    """

    def __init__(self, size: int = 4096, max_token: int = 8192) -> None:
        self.size = size
        self.max_token = max_token
        self._items: OrderedDict[str, tuple[Any, Any, Decoded]] = OrderedDict()

    def get(self, token: str, variant: Any) -> tuple[Any, Decoded] | None:
        item = self._items.get(token)
        if item is None or item[1] != variant:
            return None
        self._items.move_to_end(token)
        return item[0], item[2]

    def put(self, token: str, credential: Any, variant: Any, decoded: Decoded) -> None:
        if len(token) > self.max_token:
            return
        items = self._items
        items[token] = (credential, variant, decoded)
        items.move_to_end(token)
        if len(items) > self.size:
            items.popitem(last=False)

    def drop(self, token: str) -> None:
        self._items.pop(token, None)

    def __len__(self) -> int:
        return len(self._items)
