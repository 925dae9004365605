"""Python half of ``resty.string``: the digests behind resty.md5 / sha1 / sha256 / sha512.

The hash objects live in Lua (they collect the ``update`` chunks); ``final`` is the one
crossing, hashing everything at once.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

_ALGORITHMS = {b"md5": hashlib.md5, b"sha1": hashlib.sha1, b"sha256": hashlib.sha256, b"sha512": hashlib.sha512}


def digest(algorithm: bytes, data: bytes) -> bytes:
    """The binary digest of ``data`` with one of the supported algorithms."""
    return _ALGORITHMS[algorithm](data).digest()


def backing(host: LuaHost) -> dict[str, Any]:
    return {"digest": digest}
