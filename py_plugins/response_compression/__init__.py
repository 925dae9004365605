"""response-compression: gzip (and brotli) compression of responses, streaming (a Moongate addition).

Kong has no such plugin; operators put nginx's ``gzip`` in front.  This one works like
it, as a plugin that composes with the others:

* ``header_filter`` decides: the response is compressed when it has no
  ``Content-Encoding`` yet (never twice), its status can carry a body, its media type
  is in ``content_types``, its size (``Content-Length``, or the whole body of a
  response Kong generated or buffered) is at least ``min_size`` or unknown (a
  streamed body), and the client's ``Accept-Encoding`` accepts one of
  ``algorithms`` (q-values honoured; ties go to the order of ``algorithms``; ``br``
  only where the ``brotli`` package is installed).  Then ``Content-Encoding`` is set,
  ``Content-Length`` dropped (the body is sent chunked) and a strong ``ETag`` made
  weak.  Every response that could be compressed gets ``Vary: Accept-Encoding``.
* ``body_filter`` compresses each chunk as it passes and flushes the compressor on
  the last one, so memory stays flat whatever the body size.

Priority 90: after proxy-cache (100), which therefore stores uncompressed responses
and serves each client the encoding it accepts.
"""

from __future__ import annotations

import zlib
from typing import Any

from host.context import current_context
from py_plugins.response_compression._negotiate import BROTLI, choose, media_type

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin"]

NAME = "response-compression"
PRIORITY = 90
VERSION = "1.0.0"

_DEFAULT_TYPES = [
    "text/plain",
    "text/html",
    "text/css",
    "text/xml",
    "text/javascript",
    "application/json",
    "application/javascript",
    "application/xml",
    "image/svg+xml",
]

SCHEMA: list[dict[str, Any]] = [
    {
        "algorithms": {
            "type": "array",
            "elements": {"type": "string", "one_of": ["br", "gzip"]},
            "default": ["br", "gzip"],
            "len_min": 1,
            "required": True,
            "description": "Encodings offered, preferred first; `br` is used only where the "
            "`brotli` package is installed.",
        }
    },
    {
        "content_types": {
            "type": "array",
            "elements": {"type": "string"},
            "default": _DEFAULT_TYPES,
            "required": True,
            "description": "Media types compressed (parameters such as charset are ignored; "
            "`text/*` matches every text type).",
        }
    },
    {
        "min_size": {
            "type": "integer",
            "default": 1024,
            "between": [0, 2147483647],
            "required": True,
            "description": "Responses whose known size is smaller are sent as they are.",
        }
    },
    {
        "gzip_level": {
            "type": "integer",
            "default": 6,
            "between": [1, 9],
            "required": True,
            "description": "The zlib compression level of gzip.",
        }
    },
    {
        "brotli_quality": {
            "type": "integer",
            "default": 4,
            "between": [0, 11],
            "required": True,
            "description": "The brotli quality (higher: smaller and slower).",
        }
    },
]

_NO_BODY_STATUS = frozenset({204, 304})


class _Gzip:
    """A streaming gzip compressor: ``feed`` per chunk, ``finish`` at the end."""

    def __init__(self, level: int) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, 31)

    def feed(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def finish(self) -> bytes:
        return self._z.flush()


class _Brotli:
    def __init__(self, quality: int) -> None:
        assert BROTLI is not None
        self._c = BROTLI.Compressor(quality=quality)

    def feed(self, data: bytes) -> bytes:
        return self._c.process(data)  # type: ignore[no-any-return]

    def finish(self) -> bytes:
        return self._c.finish()  # type: ignore[no-any-return]


def _add_vary(headers: Any) -> None:
    values = [v.strip().lower() for value in headers.getall("Vary", ()) for v in value.split(",")]
    if "accept-encoding" not in values and "*" not in values:
        headers.add("Vary", "Accept-Encoding")


class Plugin:
    """Per-request state (the compressor) lives in ``kong.ctx.plugin``."""

    def header_filter(self, kong: Any, conf: dict[str, Any]) -> None:
        ctx = current_context()
        headers = ctx.response_headers
        encoding = headers.get("Content-Encoding")
        if (encoding and encoding.lower() != "identity") or ctx.status in _NO_BODY_STATUS or ctx.status < 200:
            return
        kind = media_type(headers.get("Content-Type"))
        if not kind or not any(_type_matches(kind, t) for t in conf["content_types"]):
            return
        size = _known_size(ctx, headers)
        if size is not None and size < conf["min_size"]:
            return
        _add_vary(headers)
        if ctx.method == "HEAD":
            return
        algorithm = choose(kong.request.get_headers().get("accept-encoding"), conf["algorithms"])
        if algorithm is None:
            return
        kong.ctx.plugin["compressor"] = (
            _Brotli(conf["brotli_quality"]) if algorithm == "br" else _Gzip(conf["gzip_level"])
        )
        headers["Content-Encoding"] = algorithm
        headers.popall("Content-Length", None)
        etag = headers.get("ETag")
        if etag and not etag.startswith("W/"):
            headers["ETag"] = "W/" + etag

    def body_filter(self, kong: Any, conf: dict[str, Any]) -> None:
        compressor = kong.ctx.plugin.get("compressor")
        if compressor is None:
            return
        ctx = current_context()
        chunk = ctx.body_chunk
        out = compressor.feed(chunk) if chunk else b""
        if ctx.body_eof:
            out += compressor.finish()
            kong.ctx.plugin["compressor"] = None
        ctx.body_chunk = out


def _type_matches(kind: str, pattern: str) -> bool:
    pattern = pattern.split(";", 1)[0].strip().lower()
    if pattern.endswith("/*"):
        return kind.startswith(pattern[:-1])
    return kind == pattern or pattern == "*"


def _known_size(ctx: Any, headers: Any) -> int | None:
    """The body size when known before it streams: Content-Length, or the body Kong holds."""
    length = headers.get("Content-Length")
    if length is not None and length.isdigit():
        return int(length)
    if ctx.exit_body is not None:
        return len(ctx.exit_body)
    return None
