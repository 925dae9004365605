"""Kong's collection listing: ``size``/``offset`` pages, ``next`` links and ``tags`` filters.

Entities are listed in id order (as Kong's databases page by primary key); the
``offset`` token is the last id of the previous page, base64-encoded, so a page
boundary survives entities added or removed meanwhile.  ``tags=a,b`` keeps
entities holding every tag, ``tags=a/b`` those holding any; mixing is refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from host.admin.errors import AdminError

__all__ = ["paginate", "tag_filter", "DEFAULT_SIZE", "MAX_SIZE"]

DEFAULT_SIZE = 100
MAX_SIZE = 1000


def _size(query: Mapping[str, str]) -> int:
    raw = query.get("size")
    if raw is None:
        return DEFAULT_SIZE
    try:
        size = float(raw)
    except ValueError:
        raise AdminError(
            400, {"code": 9, "name": "invalid size", "message": "size must be a number"}
        ) from None
    if not size.is_integer() or not 1 <= size <= MAX_SIZE:
        message = f"size must be an integer between 1 and {MAX_SIZE}"
        raise AdminError(400, {"code": 9, "name": "invalid size", "message": message})
    return int(size)


def _offset(query: Mapping[str, str]) -> str | None:
    raw = query.get("offset")
    if raw is None:
        return None
    try:
        padded = raw.encode("ascii") + b"=" * (-len(raw) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        message = f"'{raw}' is not a valid offset: bad base64 encoding"
        raise AdminError(400, {"code": 7, "name": "invalid offset", "message": message}) from None


def tag_filter(query: Mapping[str, str]) -> tuple[set[str], bool] | None:
    """``(tags, match_all)`` from ``?tags=``, or None when not filtering."""
    raw = query.get("tags")
    if raw is None:
        return None
    if "," in raw and "/" in raw:
        message = "invalid option (tags: cannot mix ',' and '/')"
        raise AdminError(
            400,
            {
                "code": 11,
                "name": "invalid options",
                "message": message,
                "options": {"tags": "cannot mix ',' and '/'"},
            },
        )
    match_all = "/" not in raw
    tags = {t for t in raw.replace("/", ",").split(",") if t}
    return tags, match_all


def has_tags(row: Mapping[str, Any], wanted: tuple[set[str], bool] | None) -> bool:
    if wanted is None:
        return True
    tags, match_all = wanted
    held = set(row.get("tags") or ())
    return tags <= held if match_all else bool(tags & held)


def paginate(rows: list[dict[str, Any]], query: Mapping[str, str], path: str) -> dict[str, Any]:
    """One page of ``rows`` (already filtered) with Kong's ``data``/``offset``/``next``."""
    size = _size(query)
    after = _offset(query)
    wanted = tag_filter(query)
    ordered = sorted((r for r in rows if has_tags(r, wanted)), key=lambda r: r["id"])
    if after is not None:
        ordered = [r for r in ordered if r["id"] > after]
    page = ordered[:size]
    body: dict[str, Any] = {"data": page, "next": None}
    if len(ordered) > size:
        token = base64.urlsafe_b64encode(page[-1]["id"].encode()).decode().rstrip("=")
        params = {"offset": token}
        for key in ("size", "tags"):
            if key in query:
                params[key] = query[key]
        body["offset"] = token
        body["next"] = f"{path}?{urlencode(params)}"
    return body
