"""OTLP/HTTP export of log lines to ``logs_endpoint`` (Kong's ``observability.logs``).

While some configuration has a ``logs_endpoint`` (the plugin's ``configure``), a
:class:`logging.Handler` on the gateway's ``moongate`` logger keeps every line that
passes the configured ``log_level``: ``kong.log.*`` and ``ngx.log`` lines of plugins
and the gateway's own lines.  A line logged during a request is kept with the request
(at most :data:`MAX_REQUEST_LOGS`), any other one in the worker's buffer (at most
:data:`MAX_WORKER_LOGS`, further lines are dropped until it is emptied), as Kong does.

The ``log`` phase of a request whose configuration has a ``logs_endpoint`` takes the
worker's buffer and the request's lines, encodes each as an OTLP ``LogRecord`` (the
request's lines with its trace id, span id and sampled flag when a trace is active),
and queues them on the configuration's logs queue (:mod:`py_plugins._logkit.queue`);
a batch becomes one ``ExportLogsServiceRequest``.  Nothing is kept and no handler is
installed while no configuration asks for logs: the log calls cost nothing more.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ScopeLogs

from host.context import current_context
from py_plugins.opentelemetry._export import _attributes, _field, _resource, post_otlp

__all__ = ["capture", "capturing", "take", "record_bytes", "export_logs_request", "send_logs"]

MAX_REQUEST_LOGS = 1000
MAX_WORKER_LOGS = 1000
#: where a request keeps its lines (``ctx.extra``)
_KEY = "opentelemetry.logs"
#: logging level -> (OTLP severity number, Kong's severity text)
_SEVERITY = {
    logging.DEBUG: (5, "DEBUG"),
    logging.INFO: (9, "INFO"),
    25: (11, "NOTICE"),
    logging.WARNING: (13, "WARN"),
    logging.ERROR: (17, "ERR"),
    logging.CRITICAL: (19, "CRIT"),
    55: (21, "ALERT"),
    60: (23, "EMERG"),
}
#: source trees of the gateway itself: a line's location there says nothing to the user
_OWN_CODE = tuple(str(Path(__file__).resolve().parents[2] / d) for d in ("host", "pdk", "py_plugins"))

#: one kept line: (time ns, level, text, request id, location or None)
Line = tuple[int, int, str, str | None, tuple[str, int, str] | None]


class _Capture(logging.Handler):
    """Keeps each line with its request, or in the worker's buffer."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.worker: list[Line] = []
        self.worker_full = False

    def emit(self, record: logging.LogRecord) -> None:
        ctx = current_context()
        request_id = ctx.request_id
        if request_id:
            lines = ctx.extra.get(_KEY)
            if lines is None:
                lines = ctx.extra[_KEY] = []
            elif len(lines) >= MAX_REQUEST_LOGS:
                return
        else:
            lines = self.worker
            if len(lines) >= MAX_WORKER_LOGS:
                self.worker_full = True
                return
        path = record.pathname
        where = None if path.startswith(_OWN_CODE) else (path, record.lineno, record.funcName)
        lines.append((time.time_ns(), record.levelno, record.getMessage(), request_id or None, where))


_CAPTURE: _Capture | None = None


def capture(enabled: bool) -> None:
    """Start (or stop) keeping the log lines (the plugin's ``configure``)."""
    global _CAPTURE
    logger = logging.getLogger("moongate")
    if enabled:
        if _CAPTURE is None:
            _CAPTURE = _Capture()
        if _CAPTURE not in logger.handlers:  # (setting up the logging replaces the handlers)
            logger.addHandler(_CAPTURE)
    elif _CAPTURE is not None:
        logger.removeHandler(_CAPTURE)
        _CAPTURE = None


def capturing() -> bool:
    """Whether the lines are kept now."""
    return _CAPTURE is not None


def take(ctx: Any) -> tuple[list[Line], list[Line]]:
    """(the worker's lines, taken away; the request's lines)."""
    worker: list[Line] = []
    if _CAPTURE is not None and _CAPTURE.worker:
        worker, _CAPTURE.worker = _CAPTURE.worker, []
        _CAPTURE.worker_full = False
    return worker, ctx.extra.get(_KEY) or []


def record_bytes(line: Line, trace: Any = None) -> bytes:
    """One ``LogRecord``, encoded; ``trace`` (the request's) gives its ids and flags."""
    stamp, level, text, request_id, where = line
    number, severity = _SEVERITY.get(level) or _SEVERITY[min(_SEVERITY, key=lambda k: abs(k - level))]
    attributes: dict[str, Any] = {"request.id": request_id}
    if where is not None:
        attributes["introspection.source"] = where[0]
        attributes["introspection.current.line"] = where[1]
        attributes["introspection.name"] = where[2]
    record = LogRecord(
        time_unix_nano=stamp,
        observed_time_unix_nano=stamp,
        severity_number=number,  # type: ignore[arg-type]
        severity_text=severity,
        body=AnyValue(string_value=text),
        attributes=_attributes(attributes),
    )
    if trace is not None:
        record.trace_id = trace.trace_id
        record.span_id = trace.root_id
        record.flags = 1 if trace.sampled else 0
    return record.SerializeToString()


def export_logs_request(conf: dict[str, Any], node_id: str, records: list[bytes]) -> bytes:
    """An ``ExportLogsServiceRequest`` holding ``records`` (already encoded): its field 1
    is a ``ResourceLogs`` (resource = 1, scope_logs = 2), whose ``ScopeLogs`` has
    scope = 1 and log_records = 2."""
    scope = ScopeLogs(scope=InstrumentationScope(name="kong-internal", version="0.1.0")).SerializeToString()
    scope += b"".join(_field(2, record) for record in records)
    return _field(1, _field(1, _resource(conf, node_id)) + _field(2, scope))


async def send_logs(conf: dict[str, Any], records: list[bytes]) -> None:
    """POST one batch of log records; raises :class:`DeliveryError` on failure."""
    from pdk._settings import default_settings

    body = export_logs_request(conf, default_settings().node_id, records)
    await post_otlp(conf, conf["logs_endpoint"], body, "logs")
