"""Python half of ``zlib`` (lua-zlib's API): deflate and inflate streams over Python's zlib.

A stream's state (a ``zlib.compressobj``/``decompressobj``) stays here, in a table keyed
by a number the Lua side holds: no Python object crosses into Lua.  A stream is dropped
when it ends (deflate's ``finish``, inflate's end of data) or fails; the table is
bounded, so streams a plugin abandons cannot pile up (the oldest is dropped, and using
it again is an error).
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

#: open streams kept at most (per runtime)
MAX_STREAMS = 1024
_FLUSH = {
    None: zlib.Z_NO_FLUSH,
    b"none": zlib.Z_NO_FLUSH,
    b"sync": zlib.Z_SYNC_FLUSH,
    b"full": zlib.Z_FULL_FLUSH,
    b"finish": zlib.Z_FINISH,
}


class _Stream:
    __slots__ = ("obj", "inflate", "bytes_in", "bytes_out")

    def __init__(self, obj: Any, inflate: bool) -> None:
        self.obj = obj
        self.inflate = inflate
        self.bytes_in = 0
        self.bytes_out = 0


def _data(value: Any) -> bytes:
    if value is None:
        return b""
    if value.__class__ is not bytes:
        raise TypeError("bad argument #1 (string expected)")
    return value


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    streams: OrderedDict[int, _Stream] = OrderedDict()
    counter = [0]

    def _open(stream: _Stream) -> int:
        counter[0] += 1
        streams[counter[0]] = stream
        while len(streams) > MAX_STREAMS:
            streams.popitem(last=False)
        return counter[0]

    def new_deflate(level: Any = None, window: Any = None) -> Any:
        """(id) or (nil, err): a deflate stream (level -1..9, window 8..15, +16 gzip, <0 raw)."""
        try:
            obj = zlib.compressobj(
                -1 if level is None else int(level), zlib.DEFLATED, 15 if window is None else int(window)
            )
        except (ValueError, zlib.error) as exc:
            return None, f"bad deflate arguments: {exc}".encode()
        return _open(_Stream(obj, False))

    def new_inflate(window: Any = None) -> Any:
        """(id) or (nil, err): an inflate stream (default: zlib or gzip, detected)."""
        try:
            obj = zlib.decompressobj(47 if window is None else int(window))
        except (ValueError, zlib.error) as exc:
            return None, f"bad inflate arguments: {exc}".encode()
        return _open(_Stream(obj, True))

    def step(sid: Any, data: Any, flush: Any = None) -> Any:
        """One call of a stream: (output, eof, bytes_in, bytes_out), or (nil, err)."""
        stream = streams.get(int(sid))
        if stream is None:
            return None, b"stream is closed"
        try:
            chunk = _data(data)
            if stream.inflate:
                obj = stream.obj
                out = obj.decompress(chunk)
                used = len(chunk) - len(obj.unused_data) if obj.eof else len(chunk)
                eof = obj.eof
            else:
                mode = _FLUSH.get(flush)
                if mode is None:
                    return None, b"bad flush mode: expected 'sync', 'full' or 'finish'"
                out = stream.obj.compress(chunk)
                if mode != zlib.Z_NO_FLUSH:
                    out += stream.obj.flush(mode)
                used = len(chunk)
                eof = mode == zlib.Z_FINISH
        except (TypeError, zlib.error) as exc:
            streams.pop(int(sid), None)
            return None, str(exc).encode("utf-8", "replace")
        stream.bytes_in += used
        stream.bytes_out += len(out)
        if eof:
            streams.pop(int(sid), None)
        return out, eof, stream.bytes_in, stream.bytes_out

    def crc32(value: Any, data: Any) -> int:
        return zlib.crc32(_data(data), int(value))

    def adler32(value: Any, data: Any) -> int:
        return zlib.adler32(_data(data), int(value))

    def version() -> bytes:
        return zlib.ZLIB_RUNTIME_VERSION.encode()

    return {
        "new_deflate": new_deflate,
        "new_inflate": new_inflate,
        "step": step,
        "crc32": crc32,
        "adler32": adler32,
        "version": version,
    }
