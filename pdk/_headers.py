"""Header checks and conversions shared by the PDK namespaces.

Kong validates header names and values in ``kong/pdk/private/checks.lua`` and
normalizes values before handing them to nginx (numbers and booleans become
strings, ``""`` becomes ``" "`` because nginx drops empty headers).  On top of
Kong's type checks, Moongate refuses CR, LF and NUL in names and values, so a
plugin can never inject a header or split a response.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from host.proxy.headers import HOP_BY_HOP
from pdk.errors import PDKArgumentError

__all__ = [
    "lookup",
    "HEADERS_SENT",
    "HeaderDict",
    "MAX_HEADERS_LIMIT",
    "NameCache",
    "check_headers_table",
    "check_max",
    "header_dict",
    "header_name",
    "header_value",
    "lua_tostring",
    "lua_type",
    "plain_text",
    "request_header_items",
    "request_header_values",
    "store",
]

#: Kong's text when a response setter runs after the headers went out
HEADERS_SENT = "headers have already been sent"
MAX_HEADERS_LIMIT = 1000

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: names already checked (bounded: names are few in practice, but plugins may build them)
_valid_names: set[str] = set()
_VALID_NAMES_MAX = 4096

Headers = CIMultiDict[str] | CIMultiDictProxy[str]
_HOP = frozenset(str(h).lower() for h in HOP_BY_HOP)


def lua_type(value: Any) -> str:
    """The Lua type name of a value as the Lua bridge would pass it (for messages)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping | list | tuple):
        return "table"
    if callable(value):
        return "function"
    return "userdata"


def lua_tostring(value: Any) -> str:
    """``tostring`` as Lua does it for the scalar types the PDK accepts."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "nil"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".14g")
    return str(value)


def lookup(headers: Any, name: Any) -> str | None:
    """The first value of header ``name`` (case-insensitive; ``_`` may stand for ``-``)."""
    if name.__class__ is not str and not isinstance(name, str):
        raise PDKArgumentError("header name must be a string")
    value = headers.get(name)
    if value is None and "_" in name:
        value = headers.get(name.replace("_", "-"))
    return value


class NameCache(dict[str, str]):
    """Header names already checked, mapped to the name a setter stores (bounded).

    Setters look a name up here first and take the general path (:func:`header_name`,
    then :meth:`remember`) when it is missing: most plugins set the same few names on
    every request.
    """

    def remember(self, name: str, stored: str) -> None:
        if len(self) < _VALID_NAMES_MAX:
            self[name] = stored


def plain_text(value: Any) -> bool:
    """Whether ``value`` is a non-empty string a header carries as it is (the setters'
    fast path; anything else goes through :func:`header_value`)."""
    return value.__class__ is str and value != "" and value.isprintable()


def header_name(name: Any) -> str:
    """Check a header name: a string made of HTTP token characters."""
    if not isinstance(name, str):
        raise PDKArgumentError(f"invalid header name {name!r}: got {lua_type(name)}, expected string")
    if name in _valid_names:
        return name
    if _TOKEN.fullmatch(name) is None:
        raise PDKArgumentError(f'invalid header name "{name}": must be a non-empty HTTP token')
    if len(_valid_names) < _VALID_NAMES_MAX:
        _valid_names.add(name)
    return name


def _checked_string(name: str, value: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise PDKArgumentError(f'invalid header value for "{name}": must not contain CR, LF or NUL')
    return value or " "


def header_value(name: str, value: Any) -> str | list[str]:
    """Check and normalize a header value: a string, number, boolean or array of strings."""
    if isinstance(value, str):
        return _checked_string(name, value)
    if isinstance(value, bool | int | float):
        return lua_tostring(value)
    if isinstance(value, list | tuple):
        out = []
        for item in value:
            if not isinstance(item, str):
                raise PDKArgumentError(
                    f'invalid header value in array "{name}": got {lua_type(item)}, expected string'
                )
            out.append(_checked_string(name, item))
        return out
    raise PDKArgumentError(
        f'invalid header value for "{name}": got {lua_type(value)}, '
        "expected array of string, string, number or boolean"
    )


def check_headers_table(headers: Any) -> list[tuple[str, str | list[str]]]:
    """Validate a whole ``{name: value}`` table; returns the pairs sorted by name."""
    if not isinstance(headers, Mapping):
        raise PDKArgumentError("headers must be a table")
    checked = [(header_name(k), header_value(k, v)) for k, v in headers.items()]
    checked.sort(key=lambda pair: pair[0])
    return checked


def store(headers: CIMultiDict[str], name: str, value: str | list[str], replace: bool) -> None:
    """Set (``replace``) or append a normalized value in a multi-dict."""
    if replace:
        headers.popall(name, None)
    if isinstance(value, str):
        headers.add(name, value)
    else:
        for item in value:
            headers.add(name, item)


def check_max(value: Any, name: str, limit: int = MAX_HEADERS_LIMIT) -> int:
    """Kong's checks of ``max_headers``/``max_args``: a number in 1..limit."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PDKArgumentError(f"{name} must be a number")
    if not value >= 1:  # also catches NaN
        raise PDKArgumentError(f"{name} must be >= 1")
    if value > limit:
        raise PDKArgumentError(f"{name} must be <= {limit}")
    return int(value)


class HeaderDict(dict[str, Any]):
    """Lower-cased header names; lookups ignore case and accept ``_`` for ``-``.

    The values are strings, or lists of strings for repeated headers, like the
    tables ``ngx.req.get_headers()`` returns.
    """

    __slots__ = ()

    def __missing__(self, name: Any) -> Any:
        if not isinstance(name, str):
            return None
        lower = name.lower()
        if lower != name and dict.__contains__(self, lower):
            return dict.__getitem__(self, lower)
        dashed = lower.replace("_", "-")
        if dashed != name:
            return dict.get(self, dashed)
        return None

    def get(self, name: Any, default: Any = None) -> Any:
        value = self[name]
        return default if value is None else value

    def __contains__(self, name: Any) -> bool:
        return dict.__contains__(self, name) or self.__missing__(name) is not None


def header_dict(headers: Headers | list[tuple[str, str]] | None, max_headers: int) -> HeaderDict:
    """Lower-case ``{name: value or [values]}`` from a multi-dict (or a list of lines),
    at most ``max_headers`` lines."""
    out = HeaderDict()
    if not headers:
        return out
    for count, (name, value) in enumerate(headers if headers.__class__ is list else headers.items()):
        if count >= max_headers:
            break
        key = name.lower()
        previous = dict.get(out, key)
        if previous is None:
            out[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            out[key] = [previous, value]
    return out


# -- the request's headers as plugins left them ----------------------------------------------
# Under nginx, kong.service.request.set_header changes the request's own headers, so a
# later plugin's kong.request.get_header, ngx.req.get_headers and ngx.var.http_* see the
# change, and kong.log.serialize() logs it.  Moongate keeps the client's headers
# (ctx.headers) and the edited upstream copy (ctx.upstream_headers, without hop-by-hop
# headers) apart; these two functions give the merged view.  A request no plugin edited
# (no upstream copy, no Host set, no body replaced) reads the client's headers as they are.


def request_header_values(ctx: Any, name: str) -> list[str]:
    """Every value of request header ``name`` (lower-case) as plugins left it.

    ``Host`` is the one ``kong.service.request.set_header("Host", ...)`` set, else the
    client's; ``Content-Length`` follows a replaced body; other hop-by-hop headers are the
    client's unless a plugin set them; the rest come from the edited copy when there is one.
    """
    if name == "host":
        host = ctx.upstream_host_header
        return [host] if host else ctx.headers.getall("Host", [])
    if name == "content-length" and ctx.upstream_body is not None:
        return [str(len(ctx.upstream_body))]
    edited = ctx.upstream_headers_edited
    if edited is None or (name in _HOP and name not in edited):
        return ctx.headers.getall(name, [])
    return edited.getall(name, [])


def request_header_items(ctx: Any) -> Headers | list[tuple[str, str]]:
    """All request header lines as plugins left them (see :func:`request_header_values`):
    the client's multi-dict itself when nothing was edited, else a list of
    ``(name, value)``: Host first, then the client's hop-by-hop headers, then the rest."""
    edited = ctx.upstream_headers_edited
    host = ctx.upstream_host_header
    body = ctx.upstream_body
    client = ctx.headers
    if edited is None and host is None and body is None:
        return client
    host = host or client.get("Host")
    items = [("Host", host)] if host else []
    length_seen = False
    for name, value in client.items():
        lname = name.lower()
        if lname == "host" or (edited is not None and (lname not in _HOP or name in edited)):
            continue
        if lname == "content-length" and body is not None:
            value, length_seen = str(len(body)), True
        items.append((name, value))
    if body is not None and not length_seen and (edited is None or "Content-Length" not in edited):
        items.append(("Content-Length", str(len(body))))
    if edited is not None:
        items.extend(line for line in edited.items() if line[0].lower() != "host")
    return items
