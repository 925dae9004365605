"""opentelemetry: trace context propagation and OTLP/HTTP export of request spans.

Kong's opentelemetry plugin (``kong/plugins/opentelemetry``), traces part:

* ``access`` reads the incoming trace context (W3C ``traceparent``, B3 headers or the
  single ``b3`` header, Jaeger ``uber-trace-id``, OT ``ot-tracer-*``, Datadog), or
  starts a new trace; decides sampling (the incoming sampled flag, else
  ``sampling_rate`` or the ``tracing_sampling_rate`` setting); and writes the context
  to the upstream request in the format of ``header_type`` (``preserve``: the
  incoming one, else ``propagation.default_format``) or of ``propagation.inject``.
  The upstream sees the gateway's span as its parent: the balancer span when the
  ``balancer`` instrumentation is on, else the request span.
* ``header_filter`` sets ``http_response_header_for_traceid`` when configured.
* ``log`` builds the spans of a sampled request: ``kong`` (the request, SERVER),
  ``kong.balancer`` (one per upstream try, CLIENT; ``tracing_instrumentations``
  ``balancer``), ``kong.router`` (``router``, timed by the proxy handler) and
  ``kong.<phase>.plugin.<name>`` (``plugin_*``, recorded by :mod:`host.tracing`), encodes them (:mod:`._export`) and queues them for
  ``traces_endpoint`` in batches of ``queue.max_batch_size``;
* ``log`` also exports the request's log lines (and the worker's lines logged outside
  requests) to ``logs_endpoint`` (:mod:`._logs`), kept while some configuration has
  one (``configure``).

Not there yet: the aws, gcp and instana formats (accepted; nothing is read or written
for them).
"""

from __future__ import annotations

import random
from typing import Any

from host.context import current_context
from host.tracing import enabled, recorded
from host.version import KONG_COMPAT_VERSION
from pdk._settings import settings_of
from py_plugins._logkit import enqueue
from py_plugins._logkit.queue import flush_queues
from py_plugins.http_log._sender import close_sessions
from py_plugins.opentelemetry._export import CLIENT, INTERNAL, SERVER, send, span_bytes
from py_plugins.opentelemetry._logs import capture, record_bytes, send_logs, take
from py_plugins.opentelemetry._propagation import FORMATS, extract, inject_headers
from py_plugins.opentelemetry._schema import SCHEMA

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin", "shutdown"]

NAME = "opentelemetry"
PRIORITY = 14
VERSION = KONG_COMPAT_VERSION

_STATE = "opentelemetry"
_WRITABLE = frozenset(FORMATS)


class _Trace:
    __slots__ = ("trace_id", "root_id", "parent_id", "sampled", "balancer_id")

    def __init__(
        self,
        trace_id: bytes,
        root_id: bytes,
        parent_id: bytes | None,
        sampled: bool,
        balancer_id: bytes | None,
    ) -> None:
        self.trace_id = trace_id
        self.root_id = root_id
        self.parent_id = parent_id
        self.sampled = sampled
        self.balancer_id = balancer_id


def _id(size: int) -> bytes:
    return (random.getrandbits(size * 8) or 1).to_bytes(size, "big")


def _inject_formats(conf: dict[str, Any], incoming: str | None) -> list[str]:
    propagation = conf.get("propagation") or {}
    default = propagation.get("default_format") or "w3c"
    wanted = propagation.get("inject") or [conf.get("header_type") or "preserve"]
    out = []
    for fmt in wanted:
        if fmt == "preserve":
            fmt = incoming or default
        elif fmt == "ignore":
            fmt = default
        if fmt in _WRITABLE and fmt not in out:
            out.append(fmt)
    return out


class Plugin:
    """``access`` propagates, ``header_filter`` shows the trace id, ``log`` exports."""

    def configure(self, kong: Any, configs: list[dict[str, Any]] | None) -> None:
        capture(any(c.get("logs_endpoint") for c in configs or ()))

    def access(self, kong: Any, conf: dict[str, Any]) -> None:
        if not conf.get("traces_endpoint"):
            return
        ctx = current_context()
        propagation = conf.get("propagation") or {}
        formats = (
            ()
            if conf.get("header_type") == "ignore"
            else tuple(f for f in (propagation.get("extract") or FORMATS) if f in _WRITABLE)
        )
        incoming, fmt = extract(ctx.headers, formats)
        sampled = incoming[2] if incoming is not None else None
        if sampled is None:
            rate = conf.get("sampling_rate")
            if rate is None:
                rate = settings_of(ctx).tracing_sampling_rate
            sampled = random.random() < rate
        balancer_id = _id(8) if enabled(settings_of(ctx), "balancer") else None
        trace = _Trace(
            incoming[0] if incoming is not None else _id(16),
            _id(8),
            incoming[1] if incoming is not None else None,
            sampled,
            balancer_id,
        )
        ctx.extra[_STATE] = trace
        set_header = kong.service.request.set_header
        for name in propagation.get("clear") or ():
            kong.service.request.clear_header(name)
        parent = balancer_id or trace.root_id
        for out in _inject_formats(conf, fmt):
            for name, value in inject_headers(out, trace.trace_id, parent, sampled).items():
                set_header(name, value)

    def header_filter(self, kong: Any, conf: dict[str, Any]) -> None:
        header = conf.get("http_response_header_for_traceid")
        trace = current_context().extra.get(_STATE)
        if header and trace is not None:
            kong.response.add_header(header, trace.trace_id.hex())

    def log(self, kong: Any, conf: dict[str, Any]) -> None:
        ctx = current_context()
        trace = ctx.extra.get(_STATE)
        if conf.get("logs_endpoint"):
            _export_logs(ctx, conf, trace)
        if trace is None or not trace.sampled:
            return
        for span in _spans(ctx, trace):
            enqueue(f"opentelemetry:{conf['traces_endpoint']}", NAME, send, conf["queue"], conf, span)


def _export_logs(ctx: Any, conf: dict[str, Any], trace: _Trace | None) -> None:
    """Queue the worker's lines and the request's (with its trace) for ``logs_endpoint``."""
    worker, lines = take(ctx)
    if not worker and not lines:
        return
    name = f"opentelemetry:logs:{conf['logs_endpoint']}"
    for line in worker:
        enqueue(name, NAME, send_logs, conf["queue"], conf, record_bytes(line))
    for line in lines:
        enqueue(name, NAME, send_logs, conf["queue"], conf, record_bytes(line, trace))


def _spans(ctx: Any, trace: _Trace) -> list[bytes]:
    """The encoded spans of the request ``ctx``."""
    t0, epoch = ctx.t0, ctx.started_at

    def ns(t: float) -> int:
        return int((epoch + (t - t0)) * 1e9)

    end = ctx.t_end or t0
    url = (
        f"{ctx.scheme}://{ctx.host}:{ctx.port}{ctx.request_uri}"
        if ctx.port
        else f"{ctx.scheme}://{ctx.host}{ctx.request_uri}"
    )
    root_attributes = {
        "http.method": ctx.method,
        "http.url": url,
        "http.host": ctx.host,
        "http.scheme": ctx.scheme,
        "http.flavor": "1.1",
        "http.client_ip": ctx.client_ip,
        "net.peer.ip": ctx.client_ip,
        "http.status_code": ctx.status,
        "kong.request.id": ctx.request_id,
        "http.route": (ctx.route or {}).get("name"),
    }
    error = f"HTTP {ctx.status}" if ctx.status >= 500 else None
    out = [
        span_bytes(
            "kong",
            SERVER,
            trace.trace_id,
            trace.root_id,
            trace.parent_id,
            ns(t0),
            ns(end),
            root_attributes,
            error,
        )
    ]
    if trace.balancer_id is not None and ctx.tries:
        start = ctx.t_upstream_start or t0
        finish = ctx.t_upstream_headers or end
        service_name = (ctx.service or {}).get("name")
        last = len(ctx.tries) - 1
        for index, attempt in enumerate(ctx.tries):
            attributes = {
                "net.peer.ip": attempt.get("ip"),
                "net.peer.port": attempt.get("port"),
                "peer.service": service_name,
                "try_count": index + 1,
            }
            if index == last:
                attributes["http.status_code"] = ctx.service_status
                span_id, span_end = trace.balancer_id, finish
            else:
                span_id, span_end = _id(8), start
            failed = index != last or ctx.service_status is None
            out.append(
                span_bytes(
                    "kong.balancer",
                    CLIENT,
                    trace.trace_id,
                    span_id,
                    trace.root_id,
                    ns(start),
                    ns(span_end),
                    attributes,
                    "upstream failure" if failed else None,
                )
            )
    for name, started, finished, failure in recorded(ctx):
        out.append(
            span_bytes(
                name, INTERNAL, trace.trace_id, _id(8), trace.root_id, ns(started), ns(finished), {}, failure
            )
        )
    return out


async def shutdown() -> None:
    """Host hook, the gateway stops: export what the queues hold, then close the sessions."""
    await flush_queues(NAME)
    await close_sessions()
