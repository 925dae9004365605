"""Python half of ``kong.tools.uuid``: version 4 UUIDs from the OS's random source."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


def uuid4() -> bytes:
    """A random UUID as 36 lowercase ASCII bytes."""
    return str(uuid.uuid4()).encode()


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {"uuid4": uuid4}
