"""Python half of ``kong.tools.string``: base64 decoding the way nginx decodes.

``ngx.decode_base64`` and ``ngx.base64.decode_base64url`` (both on
``ngx_decode_base64``) read characters up to the first ``=`` (anything after it is
ignored), fail on any character outside the alphabet or when the length left is
``1 (mod 4)``, and need no padding.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

_STD = re.compile(rb"[A-Za-z0-9+/]*")
_URL = re.compile(rb"[A-Za-z0-9_-]*")


def decode_base64(data: bytes, url: bool = False) -> bytes | None:
    """nginx's base64 (or base64url, ``url=True``) decoding; ``None`` when invalid."""
    if data.__class__ is not bytes:
        return None
    text = data.split(b"=", 1)[0]
    if not (_URL if url else _STD).fullmatch(text) or len(text) % 4 == 1:
        return None
    padded = text + b"=" * (-len(text) % 4)
    try:
        if url:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {"decode_base64": decode_base64}
