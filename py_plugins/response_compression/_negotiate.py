"""Content negotiation for response-compression: ``Accept-Encoding`` with q-values, media types."""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["BROTLI", "available", "choose", "media_type", "parse_accept_encoding"]

try:  # optional: `pip install moongate[brotli]`
    import brotli as _brotli

    BROTLI: ModuleType | None = _brotli
except ImportError:  # pragma: no cover - depends on the installation
    BROTLI = None

_ALIASES = {"x-gzip": "gzip"}


def available(algorithm: str) -> bool:
    """Whether this installation can produce ``algorithm``."""
    return algorithm == "gzip" or (algorithm == "br" and BROTLI is not None)


def parse_accept_encoding(value: str | list[str] | None) -> dict[str, float]:
    """``"gzip;q=0.5, br"`` -> ``{"gzip": 0.5, "br": 1.0}`` (names lower-cased; bad q: 0)."""
    if not value:
        return {}
    if isinstance(value, list):
        value = ",".join(value)
    out: dict[str, float] = {}
    for item in value.split(","):
        name, *params = item.split(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params:
            key, _, arg = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(arg.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        name = _ALIASES.get(name, name)
        out[name] = max(q, out.get(name, 0.0)) if name in out else q
    return out


def choose(accept: Any, algorithms: list[str]) -> str | None:
    """The encoding to use: the highest q among ``algorithms`` this installation has (ties:
    the order of ``algorithms``); ``*`` covers the ones not named; ``None``: send as is."""
    accepted = parse_accept_encoding(accept)
    if not accepted:
        return None
    star = accepted.get("*", 0.0)
    best, best_q = None, 0.0
    for algorithm in algorithms:
        if not available(algorithm):
            continue
        q = accepted.get(algorithm, star)
        if q > best_q:
            best, best_q = algorithm, q
    return best


def media_type(content_type: str | None) -> str | None:
    """``"text/html; charset=utf-8"`` -> ``"text/html"``; ``None`` without a type."""
    if not content_type:
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind or None
