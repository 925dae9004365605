"""Python half of ``kong.tools.http``: what it reads from the running request
(scheme, X-Forwarded-Proto, the Expires response header), Accept-header matching
with Kong's pattern, and reading custom error templates."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.context import current_context
from pdk import _exit

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

# one Accept value: media range, then parameters, where q=... is captured
_ACCEPT = re.compile(
    r"""
    ((?:[a-z0-9][a-z0-9\-!\#$&^_+.]+|\*) / (?:[a-z0-9][a-z0-9\-!\#$&^_+.]+|\*))
    (?:
      \s*;\s* q = ( 1(?:\.0{0,3}|) | 0(?:\.\d{0,3}|) )
      | \s*;\s* [a-z0-9][a-z0-9\-!\#$&^_+.]+ (?:=[^;]*|)
    )*
    """,
    re.IGNORECASE | re.VERBOSE,
)


def https_state() -> tuple[bytes, bytes | None]:
    """The request's scheme and its X-Forwarded-Proto values joined with ", "."""
    ctx = current_context()
    values = ctx.headers.getall("X-Forwarded-Proto", [])
    return ctx.scheme.encode(), ", ".join(values).encode() if values else None


def best_accepted(accept: bytes) -> bytes | None:
    """The media range with the highest q (> 0; the first of equals) in an Accept header."""
    best, best_q = None, 0.0
    for part in accept.decode("latin-1").split(","):
        m = _ACCEPT.match(part.strip(" \t\n\v\f\r"))
        if m is None:
            continue
        q = float(m.group(2)) if m.group(2) else 1.0
        if q > best_q:
            best, best_q = m.group(1), q
    return best.encode("latin-1") if best is not None else None


def expires_in() -> int | None:
    """Seconds until the response's Expires date (negative if past); None without one."""
    values = current_context().response_headers.getall("Expires", [])
    if not values:
        return None
    try:
        expires = email.utils.parsedate_to_datetime(values[-1])
    except (TypeError, ValueError, IndexError):
        return None
    return int(expires.timestamp()) - int(time.time())


def read_file(path: bytes) -> tuple[bytes | None, bytes | None]:
    """A file's contents, or None and the reason."""
    try:
        return Path(path.decode()).read_bytes(), None
    except OSError as exc:
        return None, (exc.strerror or "file not found").encode()


def mime_types(host: LuaHost) -> Callable[[], Any]:
    """Kong's MIME_TYPES table: the one kong.response.error negotiates with."""
    return lambda: host.to_lua(_exit.MIME_TYPES)


def error_templates(host: LuaHost) -> Callable[[], Any]:
    """Kong's error templates as ``string.format`` patterns (message, request id)."""
    return lambda: host.to_lua(
        {media: template.format(message="%s", request_id="%s") for media, (template, _) in _exit.TEMPLATES.items()}
    )


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {
        "mime_types": mime_types(host),
        "error_templates": error_templates(host),
        "https_state": https_state,
        "best_accepted": best_accepted,
        "expires_in": expires_in,
        "read_file": read_file,
    }
