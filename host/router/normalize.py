"""Request-path normalization and upstream-path escaping, as Kong does them.

The router never sees the path as the client sent it.  Kong first cuts the query
string, then *normalizes* the path (``kong/tools/uri.lua``):

1. every ``%XX`` triplet is decoded, except when ``XX`` is one of the reserved
   characters ``!*'();:@&=+$,/?%#[]``; those stay encoded and their hex digits are
   uppercased (``%2f`` becomes ``%2F``).  Decoding is done on bytes, in one pass,
   so ``%2541`` stays ``%2541``;
2. ``.`` and ``..`` segments are removed (RFC 3986, section 5.2.4);
3. runs of ``/`` are merged into one.

Route paths are *not* normalized: ``/a%58`` in a route only matches a request
whose normalized path still holds ``%58``, which cannot happen, as Kong does.

When the request goes upstream, Kong escapes the path again: every byte outside
``! # $ & ' ( ) * + , / : ; = ? @ [ ] A-Z a-z 0-9 - _ . ~ %`` becomes ``%XX``
(multi-byte UTF-8 characters are escaped byte by byte).

Paths are ``str``.  Bytes that are not valid UTF-8 (a decoded ``%FF``, or raw
bytes read with ``surrogateescape``) are carried as lone surrogates and turned
back into the same bytes by :func:`escape_path`.
"""

from __future__ import annotations

import re

__all__ = ["normalize_path", "escape_path", "RESERVED_CHARS"]

#: Characters whose percent-encoded form is kept by :func:`normalize_path`.
RESERVED_CHARS = "!*'();:@&=+$,/?%#[]"

_RESERVED_BYTES = frozenset(RESERVED_CHARS.encode("ascii"))
_PERCENT_TRIPLET = re.compile(rb"%([0-9A-Fa-f]{2})")

# One byte (or one character, for the str fast check) that must be escaped.
_UNSAFE_CHAR = re.compile(r"[^!#$&'()*+,/:;=?@\[\]A-Za-z0-9\-_.~%]")
_UNSAFE_BYTE = re.compile(rb"[^!#$&'()*+,/:;=?@\[\]A-Za-z0-9\-_.~%]")


def _decode_triplet(m: re.Match[bytes]) -> bytes:
    value = int(m.group(1), 16)
    if value in _RESERVED_BYTES:
        return b"%" + m.group(1).upper()
    return bytes((value,))


def _percent_decode(path: str) -> str:
    raw = path.encode("utf-8", "surrogateescape")
    return _PERCENT_TRIPLET.sub(_decode_triplet, raw).decode("utf-8", "surrogateescape")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 remove_dot_segments with '//' merging, over an index, not slices.

    The input buffer of the RFC is ``path[i:]``; the output buffer is ``out``,
    a list of segments that each start with ``/`` (except a leading relative one).
    """
    out: list[str] = []
    i = 0
    n = len(path)
    while i < n:
        rest = n - i
        if rest == 2 and path.startswith("/.", i):
            out.append("/")
            break
        if rest == 3 and path.startswith("/..", i):
            if out:
                out.pop()
            out.append("/")
            break
        if (rest == 1 and path[i] == ".") or (rest == 2 and path.startswith("..", i)):
            break
        if path.startswith("../", i):
            i += 3
        elif path.startswith("./", i) or path.startswith("/./", i):
            i += 2
        elif path.startswith("/../", i):
            i += 3
            if out:
                out.pop()
        elif path.startswith("//", i):
            i += 1
        else:
            end = path.find("/", i + 1)
            if end == -1:
                out.append(path[i:])
                break
            out.append(path[i:end])
            i = end
    return "".join(out)


def normalize_path(raw_path: str) -> str:
    """Normalize a request path the way Kong does before routing.

    ``raw_path`` is the path as received, without the query string.  Unreserved
    and "other" characters are percent-decoded, reserved ones stay encoded with
    uppercase hex, dot segments are resolved and ``//`` is merged into ``/``.

    >>> normalize_path("/a/%7euser/../b%2fc//d")
    '/a/b%2Fc/d'
    """
    if raw_path == "" or raw_path == "/":
        return raw_path
    path = raw_path
    if "%" in path:
        path = _percent_decode(path)
    if "." not in path and "//" not in path:
        return path
    return _remove_dot_segments(path)


def _escape_byte(m: re.Match[bytes]) -> bytes:
    return b"%%%02X" % m.group(0)[0]


def escape_path(path: str) -> str:
    """Percent-encode the bytes of ``path`` that Kong escapes before proxying.

    Reserved characters, unreserved ones and ``%`` are kept as they are, so an
    already encoded ``%2F`` passes through; everything else (spaces, quotes,
    non-ASCII bytes, ...) becomes ``%XX`` with uppercase hex.

    >>> escape_path("/a b/é")
    '/a%20b/%C3%A9'
    """
    if _UNSAFE_CHAR.search(path) is None:
        return path
    raw = path.encode("utf-8", "surrogateescape")
    return _UNSAFE_BYTE.sub(_escape_byte, raw).decode("ascii")
