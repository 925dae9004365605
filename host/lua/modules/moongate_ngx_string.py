"""Python half of ``moongate.ngx_string``: base64, digests, HMAC-SHA1 and CRC-32.

Each function is one crossing taking and returning bytes; the argument checks and the
pure-string helpers (URI escaping, query args, SQL quoting) live on the Lua side.
Base64 decoding follows nginx's ``ngx_decode_base64``: input stops at the first ``=``,
padding is optional, a character outside the alphabet or a length of ``4k+1`` makes it
fail (``nil``); the MIME variant skips characters outside the alphabet instead.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_ALPHABET = bytes(b for b in range(256) if b not in _ALPHABET)


def _b64decode(data: bytes) -> bytes | None:
    """Decode base64 text made only of alphabet characters (no padding), nginx-style."""
    if len(data) % 4 == 1:
        return None
    try:
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        return None


def encode_base64(data: bytes, no_padding: bool) -> bytes:
    out = binascii.b2a_base64(data, newline=False)
    return out.rstrip(b"=") if no_padding else out


def decode_base64(data: bytes) -> bytes | None:
    data = data.split(b"=", 1)[0]
    if data.translate(None, _ALPHABET):
        return None     # a character outside the alphabet
    return _b64decode(data)


def decode_base64mime(data: bytes) -> bytes | None:
    return _b64decode(data.split(b"=", 1)[0].translate(None, _NOT_ALPHABET))


def md5(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode()


def md5_bin(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def sha1_bin(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


def hmac_sha1(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha1")


def crc32(data: bytes) -> int:
    return zlib.crc32(data)


def backing(host: LuaHost) -> dict[str, Any]:
    return {
        "encode_base64": encode_base64,
        "decode_base64": decode_base64,
        "decode_base64mime": decode_base64mime,
        "md5": md5,
        "md5_bin": md5_bin,
        "sha1_bin": sha1_bin,
        "hmac_sha1": hmac_sha1,
        "crc32": crc32,
    }
