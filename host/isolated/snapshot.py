"""What crosses the process boundary per phase call: the request snapshot and the journal.

The gateway (:func:`snapshot`) sends what a phase may read in one message: the request
line, headers, client address, route/service/consumer, the upstream request as edited
so far, the response status and headers (response phases), ``kong.ctx.shared`` and the
plugin's ``kong.ctx.plugin`` values that are plain data, and the body when the gateway
has it buffered.  The worker builds a real :class:`~host.context.Context` from it
(:func:`build_context`) and runs the plugin with the real PDK; afterwards
:func:`journal` lists what the call changed (the writes) and the gateway applies them
(:func:`apply`), raising :class:`~pdk.errors.ExitSignal` when the plugin called
``kong.response.exit``.  Header lists are sent whole when they changed (the worker
started from the gateway's current state, so the whole list is the truth); context
values are sent key by key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from operator import attrgetter
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from host.context import Context
from host.proxy.headers import PresetHeaders
from pdk.errors import ExitSignal
from pdk.phases import Phase

__all__ = ["snapshot", "apply", "build_context", "journal", "plain", "NotPlain"]

#: the request, read-only in every phase
_REQUEST = (
    "request_id",
    "started_at",
    "method",
    "scheme",
    "host",
    "port",
    "http_version",
    "raw_path",
    "path",
    "raw_query",
    "request_uri",
    "client_ip",
    "peer_ip",
    "peer_port",
    "route",
    "service",
    "consumer",
    "credential",
    "auth_serial",
    "stripped_prefix",
)
#: the upstream request as plugins edit it (kong.service.*)
_UPSTREAM = (
    "upstream_scheme",
    "upstream_method",
    "upstream_path",
    "upstream_query",
    "upstream_host",
    "upstream_port",
    "upstream_host_header",
    "upstream_name",
    "connect_timeout",
    "write_timeout",
    "read_timeout",
    "retries",
    "buffered_proxying",
)
#: the response to the client (kong.response.*)
_RESPONSE = ("status", "response_source", "exited", "service_status")
_REQUEST_PHASES = frozenset({"rewrite", "access"})
#: the fields above travel as one array (``"v"``), in this order: read in one C call
_FIELDS = _REQUEST + _UPSTREAM + _RESPONSE
_GET_FIELDS = attrgetter(*_FIELDS)
_GET_UPSTREAM = attrgetter(*_UPSTREAM)
_UP_SLICE = slice(len(_REQUEST), len(_REQUEST) + len(_UPSTREAM))
_MAX_DEPTH = 32


class NotPlain(Exception):
    """A value that is not plain data (an object, a function, a cycle)."""


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-able data (mappings, sequences, strings, numbers, booleans,
    None); raises :class:`NotPlain` for anything else."""
    cls = value.__class__
    if cls is str or cls is int or cls is float or cls is bool or value is None:
        return value
    if depth >= _MAX_DEPTH:
        raise NotPlain("nested too deeply")
    if cls is bytes:
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise NotPlain("binary string") from None
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if cls is list or cls is tuple:
        return [plain(v, depth + 1) for v in value]
    raise NotPlain(cls.__name__)


def _plain_items(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        try:
            out[key] = plain(value)
        except NotPlain:
            continue  # stays in the gateway: the worker does not see it
    return out


def _pairs(headers: Any) -> list[list[str]]:
    return [[k, v] for k, v in headers.items()]


# -- the gateway's side -------------------------------------------------------------------
def snapshot(ctx: Context, phase: str, name: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What the worker needs to run ``name``'s ``phase`` handler for ``ctx``."""
    data: dict[str, Any] = {"v": _GET_FIELDS(ctx), "headers": _pairs(ctx.headers)}
    captures = ctx._uri_captures if ctx.router_match is None else ctx.uri_captures
    if captures:
        data["uri_captures"] = captures
    edited = ctx.upstream_headers_edited
    if edited is not None:
        data["upstream_headers"] = _pairs(edited)
    if ctx.response_headers:
        data["response_headers"] = _pairs(ctx.response_headers)
        data["response_set"] = _set_names(ctx.response_headers)
    if ctx.shared:
        data["shared"] = _plain_items(ctx.shared)
    mine = ctx.plugin_ctx.get(name)
    if mine:
        data["plugin_ctx"] = _plain_items(mine)
    blobs: dict[str, bytes] = {}
    if phase in _REQUEST_PHASES:
        if ctx.body is not None:
            blobs["body"] = ctx.body
    else:
        if ctx.service_raw_headers is not None:
            headers = ctx.service_headers
            data["service_headers"] = _pairs(headers) if headers is not None else []
        if ctx.service_body is not None:
            blobs["service_body"] = ctx.service_body
        if ctx.exit_body is not None:
            blobs["exit_body"] = ctx.exit_body
        if phase == "body_filter":
            data["body_eof"] = ctx.body_eof
            blobs["body_chunk"] = ctx.body_chunk or b""
    return data, blobs


def _set_names(headers: CIMultiDict[str]) -> list[str]:
    """The names a plugin *set* (not only added) in ``headers``, for the other end."""
    return sorted(getattr(headers, "replaced", ()))


def _preset(pairs: Any, set_names: Any) -> PresetHeaders:
    headers = PresetHeaders(pairs)
    if set_names:
        headers.replaced = set(set_names)
    return headers


def apply(ctx: Context, name: str, j: dict[str, Any], blobs: dict[str, bytes]) -> list[Any]:
    """Apply a worker's journal to ``ctx``; returns its log records.  Raises
    :class:`ExitSignal` last when the plugin called ``kong.response.exit``."""
    if "uh" in j:
        ctx.upstream_headers = CIMultiDict(j["uh"])
    if "rh" in j:
        ctx.response_headers = _preset(j["rh"], j.get("rhs", ()))
    for key, value in j.get("up", {}).items():
        if key in _UPSTREAM:
            setattr(ctx, key, value)
    if "upstream_body" in blobs:
        ctx.upstream_body = blobs["upstream_body"]
    for target, changes in (("sh", ctx.shared), ("pc", ctx.plugin_ctx.setdefault(name, {}))):
        if target in j:
            changes.update(j[target])
        for key in j.get(target + "d", ()):
            changes.pop(key, None)
    for entry in j.get("sv", ()):
        ctx.serialize_values.append(tuple(entry))  # type: ignore[arg-type]
    if "body_chunk" in blobs:
        ctx.body_chunk = blobs["body_chunk"]
    if "status" in j:
        ctx.status = j["status"]
    if "source" in j:
        ctx.response_source = j["source"]
    if "auth" in j:  # the consumer and credential the plugin authenticated
        consumer, credential, serial = j["auth"]
        ctx.consumer = consumer if isinstance(consumer, dict) else None
        ctx.credential = credential if isinstance(credential, dict) else None
        ctx.auth_shared = False
        ctx.auth_serial = max(int(serial), ctx.auth_serial + 1)
    if j.get("exit"):
        ctx.exited = True
        ctx.exit_body = blobs.get("exit_body")
        raise ExitSignal()
    return j.get("log", ())  # type: ignore[no-any-return]


# -- the worker's side --------------------------------------------------------------------
def build_context(
    data: dict[str, Any], blobs: dict[str, bytes], phase: str, name: str, settings: Any
) -> Context:
    """A request context from a snapshot (the worker's view of the gateway's)."""
    ctx = Context(None, settings)
    values = data["v"]
    for key, value in zip(_FIELDS, values, strict=True):  # a short or long one fails the call
        setattr(ctx, key, value)
    ctx.headers = CIMultiDictProxy(CIMultiDict(data["headers"]))
    if "uri_captures" in data:
        ctx.uri_captures = data["uri_captures"]
    if "upstream_headers" in data:
        ctx.upstream_headers = CIMultiDict(data["upstream_headers"])
    # set-versus-added is recorded as in the gateway (host/proxy/headers.py PresetHeaders)
    ctx.response_headers = _preset(data.get("response_headers", ()), data.get("response_set", ()))
    if "service_headers" in data:
        ctx.service_headers = CIMultiDictProxy(CIMultiDict(data["service_headers"]))
    ctx.shared = data.get("shared") or {}
    ctx.plugin_ctx = {name: data.get("plugin_ctx") or {}}
    ctx.body = blobs.get("body")
    ctx.service_body = blobs.get("service_body")
    ctx.exit_body = blobs.get("exit_body")
    if phase == "body_filter":
        ctx.body_chunk = blobs.get("body_chunk", b"")
        ctx.body_eof = bool(data.get("body_eof"))
    ctx.phase = Phase[phase]
    ctx.plugin_name = name
    # what journal() compares with: copies, since the plugin edits the originals
    ctx.extra["isolated.sent"] = (
        data.get("upstream_headers"),
        data.get("response_headers", []),
        copy.deepcopy(ctx.shared) if ctx.shared else {},
        copy.deepcopy(ctx.plugin_ctx[name]) if ctx.plugin_ctx[name] else {},
        tuple(values[_UP_SLICE]),
        ctx.status,
        ctx.response_source,
        ctx.auth_serial,
    )
    return ctx


def _changes(now: Mapping[str, Any], before: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    changed: dict[str, Any] = {}
    for key, value in now.items():
        try:
            value = plain(value)
        except NotPlain:
            continue  # a value only the worker can hold (a Lua function, an object)
        if key not in before or before[key] != value:
            changed[str(key)] = value
    return changed, [key for key in before if key not in now]


def _or_none(value: Any) -> Any:
    try:
        return plain(value)
    except NotPlain:
        return None


def _or_text(value: Any) -> Any:
    try:
        return plain(value)
    except NotPlain:
        return str(value)


def journal(ctx: Context, name: str, exited: bool) -> tuple[dict[str, Any], dict[str, bytes]]:
    """What the call changed in ``ctx`` (see :func:`apply`)."""
    up_headers, resp_headers, shared, mine, upstream, status, source, serial = ctx.extra["isolated.sent"]
    j: dict[str, Any] = {}
    blobs: dict[str, bytes] = {}
    edited = ctx.upstream_headers_edited
    if edited is not None:
        pairs = _pairs(edited)
        if pairs != up_headers:
            j["uh"] = pairs
    pairs = _pairs(ctx.response_headers)
    if pairs != resp_headers:
        j["rh"] = pairs
        j["rhs"] = _set_names(ctx.response_headers)
    now = _GET_UPSTREAM(ctx)
    if now != upstream:
        j["up"] = {
            key: value for key, value, sent in zip(_UPSTREAM, now, upstream, strict=True) if value != sent
        }
    if ctx.upstream_body is not None:
        blobs["upstream_body"] = ctx.upstream_body
    for target, now, before in (("sh", ctx.shared, shared), ("pc", ctx.plugin_ctx.get(name, {}), mine)):
        if now or before:
            changed, deleted = _changes(now, before)
            if changed:
                j[target] = changed
            if deleted:
                j[target + "d"] = deleted
    if ctx.serialize_values:
        j["sv"] = [[key, _or_text(value), mode] for key, value, mode in ctx.serialize_values]
    if ctx.phase == Phase.body_filter:
        blobs["body_chunk"] = ctx.body_chunk or b""
    if ctx.status != status:
        j["status"] = ctx.status
    if ctx.response_source != source:
        j["source"] = ctx.response_source
    if ctx.auth_serial != serial:  # kong.client.authenticate
        j["auth"] = [_or_none(ctx.consumer), _or_none(ctx.credential), ctx.auth_serial]
    if exited and ctx.exited:
        j["exit"] = True
        if ctx.exit_body is not None:
            blobs["exit_body"] = ctx.exit_body
    return j, blobs
