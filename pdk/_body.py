"""Query strings and bodies: decoding for ``get_query``/``get_body``, encoding for the setters.

Decoding follows ``ngx.decode_args``: ``+`` and ``%XX`` are decoded, an argument
without ``=`` is the flag ``True``, a repeated name gives a list in order, and
empty names are skipped.  Encoding follows ``ngx.encode_args`` as Kong's
``make_ordered_args`` uses it: one ``name=value`` segment per argument, the
segments sorted, ``True`` as a bare name, ``False`` left out.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from email.message import Message
from typing import Any
from urllib.parse import quote, unquote_plus

import orjson

from pdk._headers import lua_tostring, lua_type
from pdk._settings import settings_of
from pdk.errors import PDKArgumentError, PDKError

__all__ = [
    "BODY_TOO_LARGE",
    "CONTENT_TYPE_FORM_DATA",
    "CONTENT_TYPE_JSON",
    "CONTENT_TYPE_POST",
    "decode_body",
    "encode_args",
    "encode_multipart",
    "parse_args",
    "parse_multipart",
    "query_args",
    "supported_mime",
]

CONTENT_TYPE_POST = "application/x-www-form-urlencoded"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_FORM_DATA = "multipart/form-data"
BODY_TOO_LARGE = (
    "request body did not fit into client body buffer, consider raising 'client_body_buffer_size'"
)


def parse_args(query: str, max_args: int) -> dict[str, Any]:
    """``"a=1&b&a=2"`` -> ``{"a": ["1", "2"], "b": True}``, at most ``max_args`` arguments."""
    out: dict[str, Any] = {}
    count = 0
    for piece in query.split("&"):
        if not piece:
            continue
        if count >= max_args:
            break
        count += 1
        name, eq, raw = piece.partition("=")
        name = unquote_plus(name)
        if not name:
            continue
        value: str | bool = unquote_plus(raw) if eq else True
        previous = out.get(name)
        if previous is None:
            out[name] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            out[name] = [previous, value]
    return out


def query_args(ctx: Any) -> dict[str, Any]:
    """The client's query arguments up to ``lua_max_uri_args``, parsed once per request."""
    cached = ctx.query_cache
    if cached is None:
        cached = ctx.query_cache = parse_args(ctx.raw_query, settings_of(ctx).lua_max_uri_args)
    return cached


def _escape(text: str) -> str:
    return quote(text, safe="")


def _arg_segment(name: str, value: Any) -> str | None:
    if value is True:
        return _escape(name)
    if value is False:
        return None
    if isinstance(value, str | int | float):
        return f"{_escape(name)}={_escape(lua_tostring(value))}"
    if isinstance(value, list | tuple):
        parts = [_arg_segment(name, item) for item in value if not isinstance(item, list | tuple | Mapping)]
        if len(parts) != len(value):
            raise PDKArgumentError(
                f'invalid value for query argument "{name}": nested tables are not allowed'
            )
        return "&".join(p for p in parts if p) or None
    raise PDKArgumentError(f'invalid value for query argument "{name}": got {lua_type(value)}')


def encode_args(args: Mapping[Any, Any]) -> str:
    """Encode ``{name: value}`` as Kong does: one segment per name, segments sorted."""
    segments = []
    for name, value in args.items():
        if not isinstance(name, str):
            raise PDKArgumentError("arg keys must be strings")
        segment = _arg_segment(name, value)
        if segment:
            segments.append(segment)
    segments.sort()
    return "&".join(segments)


def _param(header_value: str, header: str, param: str) -> str | None:
    msg = Message()
    msg[header] = header_value
    value = msg.get_param(param, header=header)
    if isinstance(value, tuple):  # RFC 2231 encoded
        value = value[2]
    return value if isinstance(value, str) and value else None


def parse_multipart(body: bytes, content_type: str) -> dict[str, Any] | None:
    """Decode a ``multipart/form-data`` body to ``{name: value or [values]}``; None if malformed.

    Values are text (UTF-8, undecodable bytes replaced): plugins that need a binary
    upload read ``get_raw_body()`` instead.
    """
    boundary = _param(content_type, "content-type", "boundary")
    if boundary is None:
        return None
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    chunks = body.split(delimiter)
    if len(chunks) < 2:
        return None
    out: dict[str, Any] = {}
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        elif chunk.startswith(b"\n"):
            chunk = chunk[1:]
        head, sep, value = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, value = chunk.partition(b"\n\n")
            if not sep:
                return None
        if value.endswith(b"\r\n"):
            value = value[:-2]
        elif value.endswith(b"\n"):
            value = value[:-1]
        name = None
        for line in head.decode("latin-1").splitlines():
            key, _, rest = line.partition(":")
            if key.strip().lower() == "content-disposition":
                name = _param(rest.strip(), "content-disposition", "name")
        if name is None:
            continue
        text = value.decode("utf-8", "replace")
        previous = out.get(name)
        if previous is None:
            out[name] = text
        elif isinstance(previous, list):
            previous.append(text)
        else:
            out[name] = [previous, text]
    return out


def encode_multipart(args: Mapping[Any, Any], mime: str) -> tuple[bytes, str]:
    """Encode ``{name: scalar}`` as ``multipart/form-data``; returns the body and its Content-Type.

    The boundary comes from ``mime`` when it has one, else it is random; it is
    replaced when a value contains it.
    """
    values: dict[str, str] = {}
    for name, value in args.items():
        if not isinstance(name, str):
            raise PDKArgumentError(f"invalid key {name!r}: got {lua_type(name)}, expected string")
        if not isinstance(value, str | int | float):
            raise PDKArgumentError(
                f'invalid value "{name}": got {lua_type(value)}, expected string, number or boolean'
            )
        values[name] = lua_tostring(value)
    boundary = _param(mime, "content-type", "boundary")
    while boundary is None or any(("\n--" + boundary) in v for v in values.values()):
        boundary = secrets.token_hex(12)
    parts = []
    for name in sorted(values):
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{values[name]}\r\n'
        )
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode(), f"{CONTENT_TYPE_FORM_DATA}; boundary={boundary}"


def supported_mime(content_type: str) -> str | None:
    """The decodable media type ``content_type`` starts with, or None."""
    mime = content_type.partition(";")[0].strip().lower()
    for known in (CONTENT_TYPE_POST, CONTENT_TYPE_JSON, CONTENT_TYPE_FORM_DATA):
        if mime.startswith(known):
            return known
    return None


def decode_body(body: bytes, content_type: str | None, max_args: int) -> Any:
    """Decode a body by its content type, as ``kong.request.get_body`` does.

    Raises:
        PDKError: with Kong's ``err`` text (missing or unsupported content type,
            invalid JSON, undecodable multipart body).
    """
    if not content_type:
        raise PDKError("missing content type")
    mime = supported_mime(content_type)
    if mime == CONTENT_TYPE_POST:
        return parse_args(body.decode("utf-8", "replace"), max_args)
    if mime == CONTENT_TYPE_JSON:
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            decoded = None
        if not isinstance(decoded, dict | list):
            raise PDKError("invalid json body")
        return decoded
    if mime == CONTENT_TYPE_FORM_DATA:
        parts = parse_multipart(body, content_type)
        if parts is None:
            raise PDKError("unable to decode multipart body")
        return parts
    raise PDKError(f"unsupported content type '{content_type}'")
