"""Python half of ``kong.tools.sha256``: SHA-256 with hashlib, in Kong's four encodings."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


def sha256_bin(data: bytes) -> bytes:
    """The 32-byte digest."""
    return hashlib.sha256(data).digest()


def sha256_hex(data: bytes) -> bytes:
    """64 lowercase hex digits (resty.string's to_hex)."""
    return hashlib.sha256(data).hexdigest().encode()


def sha256_base64(data: bytes) -> bytes:
    """Standard base64 with padding (ngx.encode_base64)."""
    return base64.b64encode(hashlib.sha256(data).digest())


def sha256_base64url(data: bytes) -> bytes:
    """URL-safe base64 without padding (ngx.base64.encode_base64url)."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {
        "sha256_bin": sha256_bin,
        "sha256_hex": sha256_hex,
        "sha256_base64": sha256_base64,
        "sha256_base64url": sha256_base64url,
    }
