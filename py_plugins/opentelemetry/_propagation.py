"""Trace context headers: reading W3C, B3, B3 single, Jaeger and OT; writing those and Datadog.

A context is ``(trace_id, parent_span_id, sampled)``: 16 and 8 bytes (or ``None``),
``sampled`` True/False or None when the header did not say.  Malformed headers are
ignored, as Kong does (with a warning there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["FORMATS", "extract", "inject_headers", "Context"]

Context = tuple[bytes, bytes | None, bool | None]

#: the formats in the order Kong tries them when extracting
FORMATS = ("w3c", "b3", "b3-single", "jaeger", "ot", "datadog")
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def _hex_id(value: str | None, size: int) -> bytes | None:
    """A hex id left-padded to ``size`` bytes; None when malformed or all zero."""
    if not value or len(value) > size * 2 or not _HEX.match(value):
        return None
    raw = bytes.fromhex(value.rjust(size * 2, "0"))
    return None if raw == bytes(size) else raw


def _w3c(headers: Mapping[str, str]) -> Context | None:
    match = _TRACEPARENT.match((headers.get("traceparent") or "").strip().lower())
    if not match or match[1] == "ff":
        return None
    trace_id, span_id = _hex_id(match[2], 16), _hex_id(match[3], 8)
    if trace_id is None or span_id is None:
        return None
    return trace_id, span_id, bool(int(match[4], 16) & 1)


def _b3(headers: Mapping[str, str]) -> Context | None:
    trace_id = _hex_id(headers.get("x-b3-traceid"), 16)
    if trace_id is None:
        return None
    sampled = headers.get("x-b3-sampled")
    flag = None if sampled is None else sampled in ("1", "true") or headers.get("x-b3-flags") == "1"
    return trace_id, _hex_id(headers.get("x-b3-spanid"), 8), flag


def _b3_single(headers: Mapping[str, str]) -> Context | None:
    parts = (headers.get("b3") or "").split("-")
    if len(parts) < 2:
        return None
    trace_id, span_id = _hex_id(parts[0], 16), _hex_id(parts[1], 8)
    if trace_id is None or span_id is None:
        return None
    flag = parts[2] in ("1", "d") if len(parts) > 2 else None
    return trace_id, span_id, flag


def _jaeger(headers: Mapping[str, str]) -> Context | None:
    parts = (headers.get("uber-trace-id") or "").split(":")
    if len(parts) != 4:
        return None
    trace_id, span_id = _hex_id(parts[0], 16), _hex_id(parts[1], 8)
    if trace_id is None or span_id is None or not _HEX.match(parts[3]):
        return None
    return trace_id, span_id, bool(int(parts[3], 16) & 1)


def _ot(headers: Mapping[str, str]) -> Context | None:
    trace_id = _hex_id(headers.get("ot-tracer-traceid"), 16)
    if trace_id is None:
        return None
    sampled = headers.get("ot-tracer-sampled")
    return trace_id, _hex_id(headers.get("ot-tracer-spanid"), 8), None if sampled is None else sampled == "1"


def _datadog(headers: Mapping[str, str]) -> Context | None:
    try:
        trace = int(headers.get("x-datadog-trace-id") or "")
        parent = int(headers.get("x-datadog-parent-id") or "")
    except ValueError:
        return None
    if not 0 < trace < 1 << 64 or not 0 < parent < 1 << 64:
        return None
    priority = headers.get("x-datadog-sampling-priority")
    flag = None if priority is None else priority not in ("0", "-1")
    return trace.to_bytes(16, "big"), parent.to_bytes(8, "big"), flag


_EXTRACTORS = {
    "w3c": _w3c,
    "b3": _b3,
    "b3-single": _b3_single,
    "jaeger": _jaeger,
    "ot": _ot,
    "datadog": _datadog,
}


def extract(
    headers: Mapping[str, str], formats: tuple[str, ...] = FORMATS
) -> tuple[Context | None, str | None]:
    """The first context found among ``formats`` and the format it came in."""
    for name in formats:
        found = _EXTRACTORS[name](headers)
        if found is not None:
            return found, name
    return None, None


def inject_headers(fmt: str, trace_id: bytes, span_id: bytes, sampled: bool) -> dict[str, Any]:
    """The headers that carry ``(trace_id, span_id, sampled)`` in format ``fmt``."""
    trace, span, flag = trace_id.hex(), span_id.hex(), "1" if sampled else "0"
    if fmt == "w3c":
        return {"traceparent": f"00-{trace}-{span}-0{flag}"}
    if fmt == "b3":
        return {"x-b3-traceid": trace, "x-b3-spanid": span, "x-b3-sampled": flag}
    if fmt == "b3-single":
        return {"b3": f"{trace}-{span}-{flag}"}
    if fmt == "jaeger":
        return {"uber-trace-id": f"{trace}:{span}:0:{flag}"}
    if fmt == "ot":
        return {"ot-tracer-traceid": trace, "ot-tracer-spanid": span, "ot-tracer-sampled": flag}
    if fmt == "datadog":
        return {
            "x-datadog-trace-id": str(int.from_bytes(trace_id[8:], "big")),
            "x-datadog-parent-id": str(int.from_bytes(span_id, "big")),
            "x-datadog-sampling-priority": flag,
        }
    return {}
