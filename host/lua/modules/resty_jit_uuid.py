"""Python half of ``resty.jit-uuid``: name-based UUIDs (RFC 4122 versions 3 and 5)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


def _named(make: Callable[[uuid.UUID, str], uuid.UUID]) -> Callable[[bytes, bytes], bytes]:
    def named(namespace: bytes, name: bytes) -> bytes:
        # the name is hashed as the bytes it is (uuid3/uuid5 hash str as UTF-8)
        return str(make(uuid.UUID(namespace.decode()), name.decode("utf-8", "surrogatepass"))).encode()

    return named


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    """``v3(namespace, name)`` (MD5) and ``v5(namespace, name)`` (SHA-1)."""
    return {"v3": _named(uuid.uuid3), "v5": _named(uuid.uuid5)}
