"""The upstream's response written straight to the client's transport.

When no plugin implements ``response``, ``header_filter``, ``body_filter`` or ``log``,
nothing needs the response headers as a multi-dict: :func:`raw_head` builds the head
from the upstream's raw header bytes plus Kong's headers, without decoding and
re-encoding every header.  With header_filter or log plugins, :func:`headers_head`
serializes the plugin-edited ``ctx.response_headers``.  Either way, the body chunks
then follow on the transport unchanged, the first one in the same write, instead of
going through aiohttp's ``StreamResponse`` (together, about a third of the CPU of a
proxied request without plugins).

The bytes are the ones aiohttp's ``StreamResponse`` writes for the same response (same
header order, ``Date``/``Server``/``Connection`` rules, chunked re-framing when the
upstream sent no length; ``tests/host/proxy/test_wire.py`` compares them), with one
fix: an HTTP/1.0 response without a length ends with the connection, which aiohttp
left open.  Unusual heads (a ``Via`` or ``X-Kong-*`` header from the upstream,
``Trailer``, ``Connection`` naming headers, non-ASCII bytes, a Content-Length a plugin
changed) get ``None`` and take aiohttp's path, as do body_filter and response plugins.
Response headers a plugin set in ``access`` (``kong.response.set_header``) replace the
upstream's headers of the same name, lines it added (``add_header``) come after the
upstream's, as on the general path (``headers.merge_preset``).
"""

from __future__ import annotations

import logging
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE
from multidict import CIMultiDict, istr

from host.proxy.headers import replaced_names
from host.proxy.upstream_client import UpstreamError

try:  # aiohttp's header serializer (C when built): the bytes its responses are made of
    from aiohttp.http_writer import _serialize_headers
except ImportError:  # pragma: no cover - an aiohttp without it

    def _serialize_headers(status_line: str, headers: CIMultiDict[str]) -> bytes:
        for k, v in headers.items():
            if "\r" in k or "\n" in k or "\r" in v or "\n" in v:
                raise ValueError("newline or carriage return in a header")
        text = "".join([f"{k}: {v}\r\n" for k, v in headers.items()])
        return f"{status_line}\r\n{text}\r\n".encode()


if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.proxy.upstream_client import UpstreamResponse

log = logging.getLogger("moongate.proxy")

__all__ = [
    "SENT",
    "SENT_CLOSE",
    "SentResponse",
    "KongHeaders",
    "http_date",
    "raw_head",
    "headers_head",
    "send_raw",
    "send_head",
]

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_DEFAULT_SERVER = b"Server: %b\r\n" % SERVER_SOFTWARE.encode()  # what aiohttp adds when none
_TRANSFER_ENCODING = istr("Transfer-Encoding")
_CONTENT_LENGTH = istr("Content-Length")
_DATE = istr("Date")
_SERVER = istr("Server")
_CONNECTION = istr("Connection")
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b"Keep-Alive", b"Close"})
# what raw_head does with an upstream header, by lower-case name (others are copied)
_DROP, _GENERAL, _LENGTH, _DATE_SEEN, _SERVER_SEEN, _CONNECTION_SEEN = range(6)
_KINDS = {
    # hop-by-hop: dropped, as filter_response_headers does
    b"keep-alive": _DROP,
    b"proxy-connection": _DROP,
    b"transfer-encoding": _DROP,
    b"upgrade": _DROP,
    b"te": _DROP,
    b"connection": _CONNECTION_SEEN,  # dropped too, unless it names other headers
    # merged in place with Kong's own headers, or kept on request: the general path
    b"trailer": _GENERAL,
    b"via": _GENERAL,
    b"x-kong-upstream-latency": _GENERAL,
    b"x-kong-proxy-latency": _GENERAL,
    b"x-kong-request-id": _GENERAL,
    # copied, and they matter for the framing and aiohttp's defaults
    b"content-length": _LENGTH,
    b"date": _DATE_SEEN,
    b"server": _SERVER_SEEN,
}
_KIND_NAMES = frozenset(name.decode() for name in _KINDS)
_EMPTY_BODY_STATUS = frozenset({204, 304, *range(100, 200)})
_DRAIN_EVERY = 0x10000  # as aiohttp's writer: wait for the client after 64 KiB


class SentResponse(web.StreamResponse):
    """What aiohttp gets back for a response already written to the transport.

    ``prepare`` and ``write_eof`` do nothing; ``keep_alive`` tells aiohttp whether the
    connection serves another request.  Two shared instances: :data:`SENT` and
    :data:`SENT_CLOSE`.
    """

    def __init__(self, keep_alive: bool) -> None:
        super().__init__()
        self._sent_keep_alive = keep_alive

    @property
    def keep_alive(self) -> bool:
        return self._sent_keep_alive

    async def prepare(self, request: web.BaseRequest) -> None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


SENT = SentResponse(True)
SENT_CLOSE = SentResponse(False)

_date_second = 0
_date_value = b""


def http_date() -> bytes:
    """The ``Date`` header value for now (formatted once per second)."""
    global _date_second, _date_value
    now = int(time.time())
    if now != _date_second:
        _date_value = formatdate(now, usegmt=True).encode("ascii")
        _date_second = now
    return _date_value


class KongHeaders:
    """Which of Kong's response headers the ``headers`` setting enables, read once.

    Settings are frozen once the gateway started; the last settings object seen is
    remembered (a worker has one).
    """

    __slots__ = (
        "settings",
        "token",
        "server",
        "latency",
        "request_id",
        "via_11",
        "via_2",
        "server_line",
        "via_value_11",
        "via_value_2",
    )

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.token = settings.server_token
        self.server = settings.header_enabled("server_tokens")
        self.latency = settings.header_enabled("latency_tokens")
        self.request_id = settings.header_enabled("x-kong-request-id")
        self.via_11 = f"Via: 1.1 {self.token}\r\n".encode()
        self.via_2 = f"Via: 2 {self.token}\r\n".encode()
        self.server_line = f"Server: {self.token}\r\n".encode()
        self.via_value_11 = f"1.1 {self.token}"
        self.via_value_2 = f"2 {self.token}"

    @staticmethod
    def of(settings: Any) -> KongHeaders:
        last = _last_kong_headers
        if last and last[0].settings is settings:
            return last[0]
        policy = KongHeaders(settings)
        last[:] = [policy]
        return policy


_last_kong_headers: list[KongHeaders] = []


#: a head ready to send: the bytes, whether the response has no body (HEAD, 204, 304),
#: whether the body is chunk-encoded, whether the connection stays open
Head = tuple[bytes, bool, bool, bool]


def _framing(request: web.BaseRequest, status: int, has_length: bool) -> tuple[bool, bool, bool, str | None]:
    """How aiohttp's ``StreamResponse`` frames a response: whether it has no body (HEAD,
    204, 304), whether the body is chunk-encoded, whether the connection stays open, and
    the ``Connection`` header it adds (``None``: none)."""
    version = request.version
    keep_alive = request.keep_alive
    no_body = status in _EMPTY_BODY_STATUS or request.method == "HEAD"
    chunked = False
    if not has_length and not no_body:
        if version >= (1, 1):
            chunked = True
        else:
            keep_alive = False  # the end of the connection delimits the body
    connection = None
    if keep_alive:
        if version == (1, 0):
            connection = "keep-alive"
    elif version == (1, 1):
        connection = "close"
    return no_body, chunked, keep_alive, connection


_status_lines: dict[tuple[Any, int], str] = {}


def _status_line(request: web.BaseRequest, status: int) -> str:
    """``HTTP/1.1 200 OK`` for the request's version (as aiohttp writes it), cached."""
    key = (request.version, status)
    line = _status_lines.get(key)
    if line is None:
        version = request.version
        line = f"HTTP/{version[0]}.{version[1]} {status} {_REASONS.get(status, '')}"
        if len(_status_lines) < 4096:
            _status_lines[key] = line
    return line


def raw_head(ctx: Context, request: web.BaseRequest, upstream: UpstreamResponse) -> Head | None:
    """The response head for the client from the upstream's raw head plus Kong's headers.

    ``None`` when the head needs the general path (see the module docstring).
    """
    assert ctx.settings is not None
    policy = KongHeaders.of(ctx.settings)
    status = upstream.status
    empty_status = status in _EMPTY_BODY_STATUS
    lines: list[bytes] = []
    length: bytes | None = None
    has_date = has_server = False
    kinds = _KINDS
    preset = ctx.response_headers
    replaced: frozenset[bytes] | set[bytes] = _NOTHING
    if preset:  # set in access: they replace the upstream's headers of the same name
        preset_lines = _preset_lines(preset)
        if preset_lines is None:
            return None
        replaced, preset_text = preset_lines
    for name, value in upstream.raw_headers:
        lower = name.lower()
        if lower in replaced:
            continue
        kind = kinds.get(lower)
        if kind is not None:
            if kind == _LENGTH:
                if empty_status:
                    continue  # aiohttp drops it from a 204 or 304
                length = value
            elif kind == _DROP:
                continue
            elif kind == _CONNECTION_SEEN:
                if value not in _PLAIN_CONNECTION:
                    return None  # it may name headers to drop
                continue
            elif kind == _GENERAL:
                return None
            elif kind == _DATE_SEEN:
                has_date = True
            else:
                has_server = True
        lines += (name, b": ", value, b"\r\n")
    if preset:
        lines.append(preset_text)
    # Kong's headers, in the order respond._kong_headers sets them
    if policy.server:
        lines.append(policy.via_11 if ctx.http_version < 2 else policy.via_2)
        if not has_server:
            lines.append(policy.server_line)
            has_server = True
    if policy.latency:
        lines.append(
            b"X-Kong-Upstream-Latency: %d\r\nX-Kong-Proxy-Latency: %d\r\n"
            % (
                int((ctx.t_upstream_headers - ctx.t_upstream_start) * 1000),
                int((ctx.t_upstream_start - ctx.t0) * 1000),
            )
        )
    if policy.request_id:
        lines.append(b"X-Kong-Request-Id: %b\r\n" % ctx.request_id.encode())
    if length is not None and not length.isdigit():
        return None  # aiohttp's writer refuses it: the general path fails the same way
    # then what aiohttp's StreamResponse adds, in its order
    no_body, chunked, keep_alive, connection = _framing(request, status, length is not None)
    if chunked:
        lines.append(b"Transfer-Encoding: chunked\r\n")
    if not has_date:
        lines += (b"Date: ", http_date(), b"\r\n")
    if not has_server:
        lines.append(_DEFAULT_SERVER)
    if connection is not None:
        lines += (b"Connection: ", connection.encode(), b"\r\n")
    head = b"%b\r\n%b\r\n" % (_status_line(request, status).encode(), b"".join(lines))
    if not head.isascii():
        return None  # the general path re-encodes non-ASCII bytes (latin-1 to UTF-8)
    return head, no_body, chunked, keep_alive


_NOTHING: frozenset[bytes] = frozenset()


def _preset_lines(headers: CIMultiDict[str]) -> tuple[set[bytes], bytes] | None:
    """The lower-case names that replace the upstream's headers (set, not only added:
    :func:`~host.proxy.headers.replaced_names`) and the header lines of the headers
    plugins set before the upstream answered; ``None`` when one of them needs the general path (a header the
    framing or Kong's own headers depend on, a CR or LF, a value that is not text)."""
    parts: list[str] = []
    for name, value in headers.items():
        if value.__class__ is not str or name.lower() in _KIND_NAMES:
            return None
        parts += (name, ": ", value, "\r\n")
    text = "".join(parts)
    lines = len(parts) >> 2
    if text.count("\r") != lines or text.count("\n") != lines:
        return None  # a CR or LF in a name or value: aiohttp's writer refuses it, the general path fails the same way
    names = {name.encode("utf-8", "surrogateescape") for name in replaced_names(headers)}
    return names, text.encode("utf-8", "surrogateescape")


def headers_head(
    request: web.BaseRequest, status: int, headers: CIMultiDict[str], upstream_length: str | None
) -> Head | None:
    """The response head from the (plugin-edited) response headers, for the upstream's
    body unchanged (``upstream_length``: its Content-Length).

    ``None`` when aiohttp's response must handle it: a Transfer-Encoding or a
    Content-Length a plugin set (aiohttp cuts the body to it), a Content-Length on a
    204 or 304, a CR or LF in a header (refused).  ``headers`` is not changed.
    """
    length = headers.get(_CONTENT_LENGTH)
    if length != upstream_length or _TRANSFER_ENCODING in headers:
        return None
    if length is not None and (status in _EMPTY_BODY_STATUS or not length.isdigit()):
        return None
    no_body, chunked, keep_alive, connection = _framing(request, status, length is not None)
    try:
        head = _serialize_headers(_status_line(request, status), headers)
    except ValueError:
        return None  # a CR or LF in a header: aiohttp's response refuses it the same way
    # then what aiohttp's StreamResponse appends, in its order (not part of
    # kong.response.get_headers(), so ``headers`` is left as it is)
    extra = []
    if chunked:
        extra.append(b"Transfer-Encoding: chunked\r\n")
    if _DATE not in headers:
        extra += (b"Date: ", http_date(), b"\r\n")
    if _SERVER not in headers:
        extra.append(_DEFAULT_SERVER)
    if connection is not None and _CONNECTION not in headers:
        extra += (b"Connection: ", connection.encode(), b"\r\n")
    if extra:
        head = b"%b%b\r\n" % (head[:-2], b"".join(extra))
    return head, no_body, chunked, keep_alive


def _chunk_frame(chunk: bytes) -> bytes:
    """One chunk of a chunk-encoded body (b"" is the last one)."""
    return b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunk else b"0\r\n\r\n"


async def send_raw(
    ctx: Context, request: web.BaseRequest, upstream: UpstreamResponse
) -> web.StreamResponse | None:
    """Send the upstream's response as it came (plus Kong's headers), or return ``None``
    when its head needs the general path."""
    head = raw_head(ctx, request, upstream)
    if head is None:
        return None
    return await send_head(ctx, request, upstream, head)


async def send_head(
    ctx: Context, request: web.BaseRequest, upstream: UpstreamResponse, head: Head
) -> web.StreamResponse:
    """Write ``head`` and stream the upstream's body after it, unchanged."""
    data, no_body, chunked, keep_alive = head
    ctx.headers_sent = True
    try:
        ctx.response_size = await _write(request, upstream, data, no_body, chunked)
    except UpstreamError as exc:
        log.error("upstream failed while sending the body (%s) for request %s", exc, ctx.request_id)
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=502)  # never written: the connection is closed
    finally:
        upstream.release()
    return SENT if keep_alive else SENT_CLOSE


async def _write(
    request: web.BaseRequest, upstream: UpstreamResponse, head: bytes, no_body: bool, chunked: bool
) -> int:
    """Write ``head`` then the upstream's body, the first chunk in the same write (the
    head waits for it, as aiohttp's writer does); returns the body bytes sent."""
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the client closed the connection")
    if no_body:
        transport.write(head)
        return 0
    sent = 0
    pending = head
    since_drain = 0
    writer = request.writer
    while True:
        chunk = upstream.read_chunk_nowait()  # most chunks are already here: no await
        if chunk is None:
            chunk = await upstream.read_chunk()
        out = _chunk_frame(chunk) if chunked else chunk
        if transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        if pending:
            transport.write(pending + out)
            pending = b""
        elif out:
            transport.write(out)
        sent += len(chunk)
        if not chunk:
            return sent
        since_drain += len(out)
        if since_drain > _DRAIN_EVERY:
            since_drain = 0
            await writer.drain()
