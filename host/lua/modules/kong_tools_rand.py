"""Python half of ``kong.tools.rand``: bytes and strings from :mod:`secrets`."""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

_UPPER = string.ascii_uppercase
_LOWER = string.ascii_lowercase


def rand_bytes(n: int | float) -> bytes:
    """``n`` bytes from the OS's CSPRNG."""
    return secrets.token_bytes(int(n))


def random_string() -> bytes:
    """32 characters from ``[A-Za-z0-9]``, as Kong builds them: base64 of 24 random
    bytes, each ``/`` replaced by a random capital letter and each ``+`` by a small one."""
    text = base64.b64encode(secrets.token_bytes(24)).decode()
    out = []
    for ch in text:
        if ch == "/":
            ch = secrets.choice(_UPPER)
        elif ch == "+":
            ch = secrets.choice(_LOWER)
        out.append(ch)
    return "".join(out).encode()


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {"rand_bytes": rand_bytes, "random_string": random_string}
