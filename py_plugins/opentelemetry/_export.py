"""Spans as OTLP protobuf, and their delivery to ``traces_endpoint`` (OTLP/HTTP).

Each span is encoded on its own (``opentelemetry.proto``'s ``Span``) and queued as
bytes (:mod:`py_plugins._logkit.queue`: batches of ``queue.max_batch_size`` spans,
retries with backoff, bounded).  A batch becomes one ``ExportTraceServiceRequest``
by protobuf's rule that repeated fields may be concatenated: the request is the
resource and scope encoded once, followed by each span's bytes as a ``spans`` field,
so spans are never decoded again.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans, Span, Status

from host.version import KONG_COMPAT_VERSION
from py_plugins.http_log._sender import DeliveryError, _session

__all__ = ["span_bytes", "export_request", "send", "post_otlp", "SERVER", "CLIENT", "INTERNAL"]

SERVER, CLIENT, INTERNAL = Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT, Span.SPAN_KIND_INTERNAL
#: resource bytes per (node id, attributes): the same for every batch of a config
_RESOURCES: dict[tuple[Any, ...], bytes] = {}


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def _attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_value(v)) for k, v in values.items() if v is not None]


def span_bytes(
    name: str,
    kind: int,
    trace_id: bytes,
    span_id: bytes,
    parent_id: bytes | None,
    start_ns: int,
    end_ns: int,
    attributes: dict[str, Any],
    error: str | None = None,
) -> bytes:
    """One span, encoded."""
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_id or b"",
        name=name,
        kind=kind,  # type: ignore[arg-type]
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        attributes=_attributes(attributes),
    )
    if error:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=error))
    return span.SerializeToString()


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _resource(conf: dict[str, Any], node_id: str) -> bytes:
    attributes = conf.get("resource_attributes") or {}
    key = (node_id, tuple(sorted(attributes.items())))
    found = _RESOURCES.get(key)
    if found is None:
        values = {
            "service.name": "kong",
            "service.version": KONG_COMPAT_VERSION,
            "service.instance.id": node_id,
        }
        values.update(attributes)
        found = _RESOURCES[key] = Resource(attributes=_attributes(values)).SerializeToString()
    return found


def export_request(conf: dict[str, Any], node_id: str, spans: list[bytes]) -> bytes:
    """An ``ExportTraceServiceRequest`` holding ``spans`` (already encoded): its field 1 is
    a ``ResourceSpans`` (resource = 1, scope_spans = 2), whose ``ScopeSpans`` has
    scope = 1 and spans = 2."""
    scope = ScopeSpans(scope=InstrumentationScope(name="kong-internal", version="0.1.0")).SerializeToString()
    scope += b"".join(_field(2, span) for span in spans)
    resource_spans = _field(1, _resource(conf, node_id)) + _field(2, scope)
    return _field(1, resource_spans)


async def send(conf: dict[str, Any], spans: list[bytes]) -> None:
    """POST one batch of spans; raises :class:`DeliveryError` on failure."""
    from pdk._settings import default_settings

    await post_otlp(
        conf, conf["traces_endpoint"], export_request(conf, default_settings().node_id, spans), "spans"
    )


async def post_otlp(conf: dict[str, Any], endpoint: str, body: bytes, what: str) -> None:
    """POST one OTLP/HTTP export request (``what``: spans or logs, for the error text);
    raises :class:`DeliveryError` when it fails or the collector answers an error."""
    headers = {"Content-Type": "application/x-protobuf", **(conf.get("headers") or {})}
    session = await _session(60000)
    timeout = aiohttp.ClientTimeout(
        sock_connect=conf["connect_timeout"] / 1000,
        total=(conf["connect_timeout"] + conf["send_timeout"] + conf["read_timeout"]) / 1000,
    )
    try:
        async with session.post(endpoint, data=body, headers=headers, timeout=timeout) as resp:
            text = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"failed to send {what} to {endpoint}: {exc or type(exc).__name__}") from None
    if status >= 300:
        raise DeliveryError(f"response error: {status}, body: {text[:256].decode('utf-8', 'replace')}")
