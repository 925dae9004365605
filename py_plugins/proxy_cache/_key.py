"""Cache keys, Cache-Control directives and content-type matching, as Kong computes them.

The key is Kong's ``cache_key.lua``: the SHA-256 hex digest of
``"<prefix>|<method>|<uri>|<params>|<headers>"`` where

* ``prefix`` is ``"<consumer id>:<route id>"`` for an authenticated request, else
  the route id, else ``"default"``;
* ``uri`` is the request line (``GET /path HTTP/1.1``) with everything from the first
  ``?`` removed (Kong reads ``ngx.var.request``), lower-cased with ``ignore_uri_case``;
* ``params`` is ``name=value`` pairs joined by ``:`` for the names in
  ``vary_query_params`` (all of them, sorted, when the list is empty); a repeated
  argument gives its sorted values joined by ``,``; an argument without value gives
  its bare name;
* ``headers`` is the same for the names in ``vary_headers`` (nothing when empty).
"""

from __future__ import annotations

import hashlib
import time
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "build_cache_key",
    "request_uri",
    "parse_directives",
    "resource_ttl",
    "parse_mime",
    "content_type_matches",
]


def _part(args: dict[str, Any], names: list[str]) -> str:
    """``name=value`` pairs of ``args`` for ``names``, in that order, joined by ``:``."""
    out = []
    for name in names:
        value = args.get(name)
        if value is None or value is False:
            continue
        if isinstance(value, list):
            out.append(f"{name}={','.join(sorted(str(v) for v in value))}")
        elif value is True:
            out.append(name)
        else:
            out.append(f"{name}={value}")
    return ":".join(out)


def request_uri(method: str, raw_uri: str, http_version: float, ignore_case: bool) -> str:
    """Kong's ``uri`` component: ``ngx.var.request`` without what follows the first ``?``."""
    line = f"{method} {raw_uri} HTTP/{http_version:.1f}"
    line = line.partition("?")[0]
    return line.lower() if ignore_case else line


def build_cache_key(
    consumer_id: str | None,
    route_id: str | None,
    method: str,
    uri: str,
    query: dict[str, Any],
    headers: dict[str, Any],
    conf: dict[str, Any],
) -> str:
    """The cache key of a request (see the module docstring)."""
    prefix = f"{consumer_id}:{route_id}" if consumer_id and route_id else route_id or "default"
    vary_params = conf.get("vary_query_params") or []
    params = _part(query, vary_params if vary_params else sorted(query))
    vary_headers = conf.get("vary_headers") or []
    # header names are looked up case-insensitively; the key spells them as configured
    found = {name: headers.get(name.lower().replace("_", "-")) for name in vary_headers}
    header_part = _part(found, vary_headers)
    raw = f"{prefix}|{method}|{uri}|{params}|{header_part}"
    return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()


def parse_directives(value: str | list[str] | None) -> dict[str, Any]:
    """Kong's ``parse_directive_header``: ``"max-age=60, private"`` -> ``{"max-age": 60, "private": True}``.

    Names are lower-cased; a numeric value becomes a number, another value stays a string.
    """
    if not value:
        return {}
    if isinstance(value, list):
        value = ", ".join(value)
    out: dict[str, Any] = {}
    for item in value.split(","):
        item = item.lstrip()
        if not item:
            continue
        name, eq, arg = item.partition("=")
        if not name:
            continue
        if not eq or not arg:
            out[name.lower()] = True
            continue
        try:
            out[name.lower()] = int(arg) if arg.strip().lstrip("-").isdigit() else float(arg)
        except ValueError:
            out[name.lower()] = arg
    return out


def resource_ttl(cc: dict[str, Any], expires: str | None) -> float:
    """Kong's ``calculate_resource_ttl``: ``s-maxage``, else ``max-age``, else ``Expires`` - now; >= 0."""
    max_age = cc.get("s-maxage") or cc.get("max-age")
    if isinstance(max_age, bool) or not isinstance(max_age, int | float):
        max_age = None
    if max_age is None and expires:
        try:
            max_age = parsedate_to_datetime(expires).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            max_age = None
    return max(max_age, 0) if max_age is not None else 0


def parse_mime(value: str) -> tuple[str | None, str | None, dict[str, str]]:
    """``"text/html; charset=UTF-8"`` -> ``("text", "html", {"charset": "UTF-8"})``."""
    media, *params = value.split(";")
    kind, slash, sub = media.strip().partition("/")
    if not slash or not kind or not sub or " " in kind or " " in sub:
        return None, None, {}
    parsed = {}
    for param in params:
        key, eq, val = param.partition("=")
        if eq and key.strip():
            parsed[key.strip().lower()] = val.strip().strip('"')
    return kind.lower(), sub.lower(), parsed


def content_type_matches(
    content_type: str, expected: list[tuple[str | None, str | None, dict[str, str]]]
) -> bool:
    """Whether ``content_type`` matches one of the parsed ``expected`` types (Kong's rules:
    ``*`` matches any type or subtype; parameters must be exactly the same)."""
    kind, sub, params = parse_mime(content_type)
    if kind is None:
        return False
    for exp_kind, exp_sub, exp_params in expected:
        if exp_kind is None:
            continue
        if (
            (exp_kind == "*" or exp_kind == kind)
            and (exp_sub == "*" or exp_sub == sub)
            and exp_params == params
        ):
            return True
    return False
