"""Python half of ``kong.meta``: the Kong version Moongate implements, as numbers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.version import KONG_COMPAT_VERSION

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)(.*)")


def version_parts(version: str = KONG_COMPAT_VERSION) -> tuple[int, int, int, bytes | None]:
    """``"3.10.0-alpha.1"`` -> ``(3, 10, 0, b"-alpha.1")``; no suffix gives ``None``."""
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(f"not a Kong version: {version!r}")
    major, minor, patch, suffix = match.groups()
    return int(major), int(minor), int(patch), suffix.encode() or None


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {"version_parts": version_parts}
