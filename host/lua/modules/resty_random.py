"""Python half of ``resty.random``: bytes from the operating system's CSPRNG."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

#: the largest single request (OpenSSL's RAND_bytes takes an int)
MAX_BYTES = 2**31 - 1


def random_bytes(n: int) -> bytes | None:
    n = int(n)
    if n < 0 or n > MAX_BYTES:
        return None
    return os.urandom(n)


def backing(host: LuaHost) -> dict[str, Any]:
    return {"bytes": random_bytes}
