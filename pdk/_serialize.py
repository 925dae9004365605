"""The log table of ``kong.log.serialize()`` and the edits of ``set_serialize_value``.

The shape is Kong's http serializer (``kong/pdk/log.lua``): request, upstream_uri,
upstream_status, response, latencies, tries, authenticated_entity, route, service,
consumer, client_ip, started_at, source, workspace, workspace_name.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Mapping
from typing import Any

from pdk._headers import header_dict
from pdk.errors import PDKArgumentError

__all__ = ["DEFAULT_WORKSPACE_ID", "apply_edits", "build", "check_value"]

#: Moongate has one workspace; its id is fixed so log lines are stable across restarts
DEFAULT_WORKSPACE_ID = "00000000-0000-4000-8000-000000000000"
#: consumer fields that may appear in logs (nested credentials never do)
_CONSUMER_FIELDS = ("id", "created_at", "updated_at", "username", "custom_id", "tags")
_SOURCE_NAMES = {"service": "upstream", "exit": "kong", "error": "kong"}
_DOT = re.compile(r"(?<!\\)\.")
_VALUE_ERROR = (
    "value must be nil, a number, string, boolean or a non-self-referencial table "
    "containing numbers, string and booleans"
)


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def _latencies(ctx: Any) -> dict[str, int]:
    end = ctx.t_end or time.perf_counter()
    request = _ms(end - ctx.t0)
    if ctx.t_upstream_start:
        proxy = _ms(ctx.t_upstream_headers - ctx.t_upstream_start) if ctx.t_upstream_headers else -1
        receive = _ms(end - ctx.t_upstream_headers) if ctx.t_upstream_headers and ctx.t_end else 0
        return {
            "kong": _ms(ctx.t_upstream_start - ctx.t0),
            "proxy": proxy,
            "request": request,
            "receive": receive,
        }
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


def _consumer(consumer: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if consumer is None:
        return None
    return {k: copy.deepcopy(consumer[k]) for k in _CONSUMER_FIELDS if k in consumer}


def _request_headers(ctx: Any) -> Any:
    """The request's headers as plugins left them (Kong logs ``ngx.req.get_headers()``,
    which ``kong.service.request.set_header`` changes): the client's when nobody edited
    them, else the edited ones plus the client's hop-by-hop headers."""
    edited = ctx.upstream_headers_edited
    if edited is None:
        return ctx.headers
    from multidict import CIMultiDict

    from host.proxy.headers import _HOP_LOWER

    merged = CIMultiDict(edited)
    for name, value in ctx.headers.items():
        if name.lower() in _HOP_LOWER and name not in edited:
            merged.add(name, value)
    return merged


def build(ctx: Any, query: dict[str, Any], max_headers: int) -> dict[str, Any]:
    """Kong's log table for one request (before the queued edits).

    ``request.tls`` (``{version, cipher, client_verify}``) is present when the proxy
    put it in ``ctx.extra["tls"]`` for a TLS connection.
    """
    request_headers = header_dict(_request_headers(ctx), max_headers)
    for name in ("authorization", "proxy-authorization"):
        if name in request_headers:
            request_headers[name] = "REDACTED"
    request_uri = ctx.request_uri
    url = (
        f"{ctx.scheme}://{ctx.host}:{ctx.port}{request_uri}"
        if ctx.port
        else f"{ctx.scheme}://{ctx.host}{request_uri}"
    )
    entry = {
        "request": {
            "id": ctx.request_id or "",
            "uri": request_uri,
            "url": url,
            "querystring": query,
            "method": ctx.method,
            "headers": dict(request_headers),
            "size": ctx.request_size,
        },
        "upstream_uri": ctx.extra.get("upstream_uri", ""),
        "upstream_status": "" if ctx.service_status is None else str(ctx.service_status),
        "response": {
            "status": ctx.status,
            "headers": dict(header_dict(ctx.response_headers, max_headers)),
            "size": ctx.response_size,
        },
        "latencies": _latencies(ctx),
        "tries": copy.deepcopy(ctx.tries),
        "authenticated_entity": _authenticated_entity(ctx),
        "route": copy.deepcopy(ctx.route),
        "service": copy.deepcopy(ctx.service),
        "consumer": _consumer(ctx.consumer),
        "client_ip": ctx.client_ip,
        "started_at": int(ctx.started_at * 1000),
        "source": _SOURCE_NAMES.get(ctx.response_source, "kong"),
        "workspace": ctx.extra.get("workspace", DEFAULT_WORKSPACE_ID),
        "workspace_name": ctx.extra.get("workspace_name", "default"),
    }
    tls = ctx.extra.get("tls")
    if tls:
        entry["request"]["tls"] = dict(tls)
    return entry


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


def apply_edits(root: dict[str, Any], edits: list[tuple[str, Any, str]]) -> dict[str, Any]:
    """Apply queued ``(dotted key, value, mode)`` edits; ``\\.`` is a literal dot in a key."""
    for key, value, mode in edits:
        parts = [p.replace("\\.", ".") for p in _DOT.split(key)]
        node: Any = root
        for sub in parts[:-1]:
            child = node.get(sub)
            if child is None:
                if mode == "replace":
                    node = None
                    break
                child = node[sub] = {}
            elif not isinstance(child, dict):
                raise PDKArgumentError(
                    f"The key '{key}' could not be used as a serialize value. "
                    f"Subkey '{sub}' is not a table. It's {child}"
                )
            node = child
        if node is None:
            continue
        last = parts[-1]
        exists = node.get(last) is not None
        if mode == "set" or (mode == "add" and not exists) or (mode == "replace" and exists):
            if value is None:  # nil removes the key, as in Lua
                node.pop(last, None)
            else:
                node[last] = copy.deepcopy(value)
    return root
