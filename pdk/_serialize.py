"""The log table of ``kong.log.serialize()`` and the edits of ``set_serialize_value``.

The shape is Kong's http serializer (``kong/pdk/log.lua``): request, upstream_uri,
upstream_status, response, latencies, tries, authenticated_entity, route, service,
consumer, client_ip, started_at, source, workspace, workspace_name.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from orjson import OPT_NON_STR_KEYS, Fragment, JSONEncodeError, dumps

from pdk._body import query_args
from pdk._copy import copy_data
from pdk._headers import request_header_items
from pdk._settings import settings_of
from pdk.errors import PDKArgumentError

__all__ = ["DEFAULT_WORKSPACE_ID", "apply_edits", "build", "check_value", "serialize", "to_json"]

#: Moongate has one workspace; its id is fixed so log lines are stable across restarts
DEFAULT_WORKSPACE_ID = "00000000-0000-4000-8000-000000000000"
#: consumer fields that may appear in logs (nested credentials never do)
_CONSUMER_FIELDS = ("id", "created_at", "updated_at", "username", "custom_id", "tags")
_SOURCE_NAMES = {"service": "upstream", "exit": "kong", "error": "kong"}
#: top-level keys whose value may be ``None`` (Lua ``nil``: absent from the shared table)
_NULLABLE = ("tries", "authenticated_entity", "route", "service", "consumer", "client_ip")
#: request headers whose values never appear in logs
_REDACTED = ("authorization", "proxy-authorization")
_DOT = re.compile(r"(?<!\\)\.")
_VALUE_ERROR = (
    "value must be nil, a number, string, boolean or a non-self-referencial table "
    "containing numbers, string and booleans"
)


def _latencies(ctx: Any) -> dict[str, int]:
    """Kong's ``latencies`` in whole milliseconds (``proxy`` -1: no upstream answer)."""
    t0 = ctx.t0
    end = ctx.t_end or time.perf_counter()
    request = round((end - t0) * 1000)
    start = ctx.t_upstream_start
    if start:
        headers = ctx.t_upstream_headers
        if headers:
            proxy = round((headers - start) * 1000)
            receive = round((end - headers) * 1000) if ctx.t_end else 0
        else:
            proxy, receive = -1, 0
        return {"kong": round((start - t0) * 1000), "proxy": proxy, "request": request, "receive": receive}
    return {"kong": request, "proxy": -1, "request": request, "receive": 0}


def _authenticated_entity(ctx: Any) -> dict[str, Any] | None:
    credential = ctx.credential
    if credential is None:
        return None
    consumer_id = credential.get("consumer_id")
    if consumer_id is None:
        nested = credential.get("consumer")
        if isinstance(nested, Mapping):
            consumer_id = nested.get("id")
        elif ctx.consumer is not None:
            consumer_id = ctx.consumer.get("id")
    return {"id": credential.get("id"), "consumer_id": consumer_id}


def _consumer(consumer: Mapping[str, Any] | None, shared: bool) -> dict[str, Any] | None:
    if consumer is None:
        return None
    if shared:
        return {k: consumer[k] for k in _CONSUMER_FIELDS if k in consumer}
    return {k: copy_data(consumer[k]) for k in _CONSUMER_FIELDS if k in consumer}


class _LowerNames(dict[str, str]):
    """Header name -> its lower-case form, remembered (names repeat from request to request)."""

    def __missing__(self, name: str) -> str:
        lowered = name.lower()
        if len(self) < _MAX_NAMES:
            self[name] = lowered
        return lowered


#: distinct header names remembered at most (a client could send endless new ones)
_MAX_NAMES = 4096
_lower = _LowerNames().__getitem__


def _header_table(headers: Any, max_headers: int) -> dict[str, Any]:
    """``{lower-case name: value or [values]}`` of at most ``max_headers`` lines of a
    multi-dict (``ngx.req.get_headers()``'s table)."""
    if len(headers) <= max_headers:  # the common case: every line, each name once
        out = dict(zip(map(_lower, headers.keys()), headers.values(), strict=False))
        if len(out) == len(headers):
            return out
    return _header_lines(headers.items(), max_headers)


def _header_lines(
    pairs: Iterable[tuple[str, str]], max_headers: int, out: dict[str, Any] | None = None
) -> dict[str, Any]:
    """:func:`_header_table` of ``(name, value)`` lines (added to ``out``), repeated names as lists."""
    if out is None:
        out = {}
    for name, value in islice(pairs, max_headers):
        key = name.lower()
        previous = out.get(key)
        if previous is None:
            out[key] = value
        elif previous.__class__ is list:
            previous.append(value)
        else:
            out[key] = [previous, value]
    return out


def _request_headers(ctx: Any, max_headers: int) -> dict[str, Any]:
    """The request's headers as plugins left them (Kong logs ``ngx.req.get_headers()``,
    which ``kong.service.request.set_header`` changes): the client's when nobody edited
    them, else the merged view of pdk/_headers.py (Host and Content-Length as sent, the
    client's hop-by-hop headers, the edited ones); credentials redacted."""
    items = request_header_items(ctx)  # the client's multi-dict itself when nobody edited it
    if items.__class__ is list:
        table = _header_lines(items, max_headers)
    else:
        table = _header_table(items, max_headers) if items else {}
    for name in _REDACTED:
        if name in table:
            table[name] = "REDACTED"
    return table


def build(ctx: Any, query: dict[str, Any], max_headers: int, shared: bool = False) -> dict[str, Any]:
    """Kong's log table for one request (before the queued edits).

    ``request.tls`` (``{version, cipher, client_verify}``) is present when the proxy
    put it in ``ctx.extra["tls"]`` for a TLS connection.  ``shared``: route, service,
    tries and the consumer's fields are the request's own objects, not copies (for a
    caller that only reads the table, and edits it with ``apply_edits(shared=True)``).
    """
    request_uri = ctx.request_uri
    url = (
        f"{ctx.scheme}://{ctx.host}:{ctx.port}{request_uri}"
        if ctx.port
        else f"{ctx.scheme}://{ctx.host}{request_uri}"
    )
    extra = ctx.extra
    response_headers = ctx.response_headers
    route = ctx.route
    service = ctx.service
    tries = ctx.tries
    if not shared:
        route = copy_data(route)
        service = copy_data(service)
        tries = copy_data(tries)
    request = {
        "id": ctx.request_id or "",
        "uri": request_uri,
        "url": url,
        "querystring": query,
        "method": ctx.method,
        "headers": _request_headers(ctx, max_headers),
        "size": ctx.request_size,
    }
    tls = extra.get("tls")
    if tls:
        request["tls"] = dict(tls)
    return {
        "request": request,
        "upstream_uri": extra.get("upstream_uri", ""),
        "upstream_status": "" if ctx.service_status is None else str(ctx.service_status),
        "response": {
            "status": ctx.status,
            "headers": _header_table(response_headers, max_headers) if response_headers else {},
            "size": ctx.response_size,
        },
        "latencies": _latencies(ctx),
        "tries": tries,
        "authenticated_entity": _authenticated_entity(ctx),
        "route": route,
        "service": service,
        "consumer": _consumer(ctx.consumer, shared),
        "client_ip": ctx.client_ip,
        "started_at": int(ctx.started_at * 1000),
        "source": _SOURCE_NAMES.get(ctx.response_source, "kong"),
        "workspace": extra.get("workspace", DEFAULT_WORKSPACE_ID),
        "workspace_name": extra.get("workspace_name", "default"),
    }


def check_value(value: Any, seen: set[int] | None = None) -> None:
    """Accept what Kong accepts: scalars, and tables of them without cycles."""
    if value is None or isinstance(value, str | int | float | bool):
        return
    if not isinstance(value, Mapping | list | tuple):
        raise PDKArgumentError(_VALUE_ERROR)
    seen = set() if seen is None else seen
    if id(value) in seen:
        raise PDKArgumentError(_VALUE_ERROR)
    seen.add(id(value))
    items = value.items() if isinstance(value, Mapping) else enumerate(value)
    for key, item in items:
        if not isinstance(key, str | int | float | bool):
            raise PDKArgumentError(_VALUE_ERROR)
        check_value(item, seen)
    seen.discard(id(value))


def apply_edits(
    root: dict[str, Any], edits: list[tuple[str, Any, str]], shared: bool = False
) -> dict[str, Any]:
    """Apply queued ``(dotted key, value, mode)`` edits; ``\\.`` is a literal dot in a key.

    ``shared`` (a table from ``build(shared=True)``): each table on an edited path is
    replaced by a shallow copy before it is changed (copy on write), so the request's
    route, service and consumer are never edited through the log table.
    """
    owned: set[int] | None = {id(root)} if shared else None
    for key, value, mode in edits:
        parts = [p.replace("\\.", ".") for p in _DOT.split(key)] if "." in key else [key]
        node: Any = root
        for sub in parts[:-1]:
            child = node.get(sub)
            if child is None:
                if mode == "replace":
                    node = None
                    break
                child = node[sub] = {}
                if owned is not None:
                    owned.add(id(child))
            elif not isinstance(child, dict):
                raise PDKArgumentError(
                    f"The key '{key}' could not be used as a serialize value. "
                    f"Subkey '{sub}' is not a table. It's {child}"
                )
            elif owned is not None and id(child) not in owned:
                child = node[sub] = dict(child)
                owned.add(id(child))
            node = child
        if node is None:
            continue
        last = parts[-1]
        exists = node.get(last) is not None
        if mode == "set" or (mode == "add" and not exists) or (mode == "replace" and exists):
            if value is None:  # nil removes the key, as in Lua
                node.pop(last, None)
            else:
                node[last] = copy_data(value)
    return root


def serialize(ctx: Any, shared: bool = False) -> dict[str, Any]:
    """``kong.log.serialize()`` of the request in ``ctx``, with its queued edits.

    ``shared=True`` is for log plugins that encode the table at once: no copy of the
    route, service, tries and consumer is made (the table must only be read), and
    top-level ``None`` values are left out (Kong's table has ``nil`` there, so its JSON
    has no such key).
    """
    query = query_args(ctx)
    if not shared:
        query = {k: v[:] if v.__class__ is list else v for k, v in query.items()}
    root = build(ctx, query, settings_of(ctx).lua_max_req_headers, shared)
    if shared:
        for key in _NULLABLE:
            if root[key] is None:
                del root[key]
        if ctx.serialize_values:  # an edit may only remove a key or set a value
            apply_edits(root, ctx.serialize_values, shared)
    elif ctx.serialize_values:
        apply_edits(root, ctx.serialize_values, shared)
    return root


# -- JSON of the log entry (the log plugins' wire format) -----------------------------------
#: id(entity) -> (entity, its JSON): a route's or service's JSON is the same for every
#: request, so it is encoded once and spliced in (snapshot entities are never changed)
_FRAGMENTS: dict[int, tuple[Any, Fragment]] = {}
#: entities kept at most; a reload makes new ones, so the table starts again when full
_MAX_FRAGMENTS = 2048


def _json(value: Any) -> bytes:
    """Compact JSON; keys that are not strings (Lua array-like tables) become strings."""
    try:
        return dumps(value)
    except JSONEncodeError:  # a key that is not a string: the slower option
        return dumps(value, option=OPT_NON_STR_KEYS)


def _fragment(entity: Any) -> Fragment:
    cached = _FRAGMENTS.get(id(entity))
    if cached is not None and cached[0] is entity:
        return cached[1]
    if len(_FRAGMENTS) >= _MAX_FRAGMENTS:
        _FRAGMENTS.clear()
    fragment = Fragment(_json(entity))
    _FRAGMENTS[id(entity)] = (entity, fragment)
    return fragment


def to_json(ctx: Any) -> bytes:
    """The JSON of ``serialize(ctx, shared=True)``: what Kong's ``cjson.encode`` of
    ``kong.log.serialize()`` gives (top-level ``nil`` fields absent).

    The route and service (when no edit touched them) are encoded once per entity and
    reused, so a request encodes only what is its own.
    """
    root = serialize(ctx, shared=True)
    route = root.get("route")
    if route is not None and route is ctx.route:
        root["route"] = _fragment(route)
    service = root.get("service")
    if service is not None and service is ctx.service:
        root["service"] = _fragment(service)
    return _json(root)
