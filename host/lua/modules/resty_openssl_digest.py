"""Python half of ``resty.openssl.digest`` (and of ``resty.openssl.hmac`` / ``mac``).

The digest and MAC objects live in Lua (they collect the ``update`` chunks); ``final``
is the one crossing, hashing everything at once with :mod:`hashlib` / :mod:`hmac`.
Algorithm names are OpenSSL's, case-insensitive (``sha256``, ``SHA2-256``,
``sha512-256``, ``sha3-256``, ``blake2b512``, ``md5``, ...); ``null`` is OpenSSL's
digest that hashes to the empty string.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["hashlib_name", "digest", "mac", "backing"]

# OpenSSL's digest names (lowercased) -> hashlib's
_NAMES: dict[str, str] = {
    "md5": "md5",
    "md5-sha1": "md5-sha1",
    "sha1": "sha1",
    "sha-1": "sha1",
    "ripemd160": "ripemd160",
    "ripemd-160": "ripemd160",
    "rmd160": "ripemd160",
    "sm3": "sm3",
    "blake2b512": "blake2b",
    "blake2s256": "blake2s",
}
for _bits in ("224", "256", "384", "512"):
    for _alias in (f"sha{_bits}", f"sha2-{_bits}", f"sha-{_bits}"):
        _NAMES[_alias] = f"sha{_bits}"
    _NAMES[f"sha3-{_bits}"] = f"sha3_{_bits}"
for _bits in ("224", "256"):
    for _alias in (f"sha512-{_bits}", f"sha2-512/{_bits}", f"sha512/{_bits}"):
        _NAMES[_alias] = f"sha512_{_bits}"
_NAMES = {name: algo for name, algo in _NAMES.items() if algo in hashlib.algorithms_available}


def hashlib_name(name: bytes) -> bytes | None:
    """The canonical (hashlib) name of an OpenSSL digest name, ``b"null"``, or ``None``."""
    text = name.decode("ascii", "replace").lower()
    if text == "null":
        return b"null"
    algo = _NAMES.get(text)
    return algo.encode() if algo else None


def digest(algo: bytes, data: bytes) -> bytes:
    """The binary digest of ``data`` (``algo`` as returned by :func:`hashlib_name`)."""
    if algo == b"null":
        return b""
    return hashlib.new(algo.decode(), data).digest()


def mac(algo: bytes, key: bytes, data: bytes) -> bytes:
    """HMAC of ``data`` with ``key`` (``algo`` as returned by :func:`hashlib_name`)."""
    return hmac.new(key, data, algo.decode()).digest()


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {"name": hashlib_name, "digest": digest, "hmac": mac}
