"""The wire format between the gateway and an isolated plugin's worker process.

One frame per message, over a Unix socketpair::

    u32 json_length | u32 blob_length | JSON object (orjson) | blobs

Byte strings (a request body, an exit body, a body_filter chunk) do not go through
JSON: they are appended as blobs and the object lists them as ``"_b": [[key, length],
...]``; :func:`unpack` puts them back under their keys.  A frame longer than
:data:`MAX_FRAME` or whose JSON does not parse is a protocol violation: the worker
is killed and restarted (a plugin that writes garbage to the channel gets exactly
that).

Messages (``op`` in parent -> worker frames, ``id`` correlating the reply):

* ``init`` (parent -> worker, first frame): settings, the plugin's kind, name and
  path; answered by ``ready`` (the plugin's metadata) or ``failed`` (the load error);
* ``call``: one phase call (``phase``, ``conf`` id, ``confdata`` the first time this
  worker sees that config, ``ctx`` the request snapshot); answered by ``{"id", "ok":
  true, "j": journal}`` or ``{"id", "ok": false, "reason", "error"}``;
* ``configure``: the plugin's configs (``confs``, ids), answered like a call.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

__all__ = [
    "MAX_FRAME",
    "HEAD",
    "ProtocolError",
    "IsolatedFailure",
    "pack",
    "unpack",
    "FrameBuffer",
    "read_frame_blocking",
]

HEAD = struct.Struct("!II")
#: the longest frame either side accepts (JSON and blobs together)
MAX_FRAME = 64 << 20


class ProtocolError(Exception):
    """A frame that is not one: garbage, too long, or not a JSON object."""


class IsolatedFailure(Exception):
    """A phase call of an isolated plugin failed; ``reason`` labels it for
    ``kong_plugin_errors_total`` (``error``, ``memory``, ``timeout``, ``crash``,
    ``protocol``), ``detail`` is what the gateway logs (never what the client sees)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"isolated plugin {reason}: {detail}")
        self.reason = reason
        self.detail = detail


def pack(message: dict[str, Any], blobs: dict[str, bytes] | None = None) -> bytes:
    """One frame: ``message`` as JSON plus ``blobs`` (key -> bytes) after it."""
    if blobs:
        message["_b"] = [[key, len(data)] for key, data in blobs.items()]
        tail = b"".join(blobs.values())
    else:
        tail = b""
    body = orjson.dumps(message, default=_default, option=orjson.OPT_NON_STR_KEYS)
    return HEAD.pack(len(body), len(tail)) + body + tail


def _default(value: Any) -> Any:
    """Values JSON has no type for: sets as lists, bytes as text, the rest by ``str``."""
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def unpack(body: bytes | memoryview, tail: bytes | memoryview) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The message and its blobs from one frame's two parts."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a JSON object")
    blobs: dict[str, bytes] = {}
    layout = message.pop("_b", None)
    if layout:
        offset = 0
        try:
            for key, length in layout:
                blobs[key] = bytes(tail[offset : offset + length])
                offset += length
        except (TypeError, ValueError):
            raise ProtocolError("bad blob layout") from None
        if offset != len(tail):
            raise ProtocolError("blob layout does not match the frame")
    return message, blobs


def _lengths(head: bytes | memoryview) -> tuple[int, int]:
    size, tail = HEAD.unpack(head)
    if size + tail > MAX_FRAME:
        raise ProtocolError(f"frame of {size + tail} bytes exceeds {MAX_FRAME}")
    return size, tail


class FrameBuffer:
    """Incremental frame parsing for a protocol's ``data_received``."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[dict[str, Any], dict[str, bytes]]]:
        """Add ``data``; returns the complete messages (raises :class:`ProtocolError`)."""
        buf = self._buf
        buf += data
        out = []
        while len(buf) >= HEAD.size:
            size, tail = _lengths(buf[: HEAD.size])
            end = HEAD.size + size + tail
            if len(buf) < end:
                break
            view = memoryview(buf)
            try:
                message = unpack(view[HEAD.size : HEAD.size + size], view[HEAD.size + size : end])
            finally:
                view.release()
            del buf[:end]
            out.append(message)
        return out


def _recv_exactly(sock: Any, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame_blocking(sock: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    """One frame from a blocking socket (start-up handshake, tests)."""
    size, tail = _lengths(_recv_exactly(sock, HEAD.size))
    body = _recv_exactly(sock, size)
    return unpack(body, _recv_exactly(sock, tail) if tail else b"")
