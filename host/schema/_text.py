"""String validators behind Kong's typedefs: paths, URLs, header/cookie names, names, tags.

Messages are Kong's (``kong/db/schema/typedefs.lua``, ``kong/tools/http.lua``).
"""

from __future__ import annotations

import re
from typing import Any

from host.schema.validators import compile_pcre

__all__ = [
    "normalize_path",
    "parse_url",
    "validate_path",
    "validate_router_path",
    "validate_url",
    "validate_header_name",
    "validate_cookie_name",
    "validate_name",
    "validate_utf8_name",
    "validate_tag",
]

Result = tuple[bool | None, Any]

_PATH_CHARS = re.compile(r"^/[A-Za-z0-9.\-_~/%:@!$&'()*+,;=]*\Z")
_PERCENT_TRIPLET = re.compile(r"%[0-9A-Fa-f]{2}")
_PERCENT_DECODE = re.compile(rb"%([0-9A-Fa-f]{2})")
_RESERVED = frozenset(b"!*'();:@&=+$,/?%#[]")
_HEADER_NAME = re.compile(r"^[a-zA-Z0-9\-_]+\Z")
_HTTP_TOKEN_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\x80-\U0010ffff \t()<>@,;:\\\"/?={}\[\]]")
_NAME = re.compile(r"^[A-Za-z0-9.\-_~]+\Z")
_UTF8_NAME = re.compile(rb"^[A-Za-z0-9.\-_~\x80-\xf4]+\Z")
_TAG = re.compile(rb"^[ \x21-\x2b\x2d\x2e\x30-\x7e\x80-\xf4]+\Z")


def _path_rules(path: str) -> tuple[bool | None, str | None, str | None]:
    """Kong's ``validate_path``: ``(ok, message, code)``, code ``rfc3986`` or ``percent``."""
    if not _PATH_CHARS.match(path):
        return (
            None,
            f"invalid path: '{path}' (characters outside of the reserved list of RFC 3986 found)",
            "rfc3986",
        )
    raw = _PERCENT_TRIPLET.sub("___", path)
    index = raw.find("%")
    if index != -1:
        return None, f"invalid url-encoded value: '{raw[index : index + 3]}'", "percent"
    return True, None, None


def validate_path(path: str) -> Result:
    """A URL path: RFC 3986 characters only, ``%`` only in valid triplets."""
    ok, message, _code = _path_rules(path)
    return ok, message


def normalize_path(path: str, merge_slashes: bool = True) -> str:
    """Kong's path normalization: decode unreserved %-triplets, resolve dot segments, merge ``//``."""
    if path in ("", "/"):
        return path
    data = path.encode("utf-8")
    if b"%" in data:

        def decode(match: re.Match[bytes]) -> bytes:
            code = int(match.group(1), 16)
            return match.group(0).upper() if code in _RESERVED else bytes([code])

        data = _PERCENT_DECODE.sub(decode, data)
    if b"." not in data and (not merge_slashes or b"//" not in data):
        return data.decode("utf-8", "surrogateescape")
    output: list[bytes] = []
    rest = data
    while rest:
        if rest == b"/.":
            rest = b"/"
        elif rest == b"/..":
            rest = b"/"
            if output:
                output.pop()
        elif rest in (b".", b".."):
            rest = b""
        elif rest.startswith(b"../"):
            rest = rest[3:]
        elif rest.startswith(b"./") or rest.startswith(b"/./"):
            rest = rest[2:]
        elif rest.startswith(b"/../"):
            rest = rest[3:]
            if output:
                output.pop()
        elif merge_slashes and rest.startswith(b"//"):
            rest = rest[1:]
        else:
            cut = rest.find(b"/", 1)
            if cut == -1:
                output.append(rest)
                rest = b""
            else:
                output.append(rest[:cut])
                rest = rest[cut:]
    return b"".join(output).decode("utf-8", "surrogateescape")


def validate_router_path(path: str) -> Result:
    """A route path: a normalized prefix ``/...`` or a regex ``~/...`` that compiles."""
    ok, message, code = _path_rules(path)
    if code == "percent":
        return ok, message
    if not path.startswith("~"):
        normalized = normalize_path(path, True)
        if normalized != path:
            return None, f"non-normalized path, consider use '{normalized}' instead"
        return True, None
    regex = path[1:]
    try:
        compile_pcre(regex)
    except re.error as exc:
        return None, f"invalid regex: '{regex}' (PCRE returned: {exc})"
    return True, None


def parse_url(url: str) -> dict[str, Any]:
    """Split a URL like LuaSocket's ``url.parse``: scheme, host, port (a string), path.

    The query, fragment and user info are dropped; IPv6 hosts lose their brackets.
    """
    parsed: dict[str, Any] = {"scheme": None, "host": None, "port": None, "path": None}
    rest = url.split("#", 1)[0]
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", rest)
    if match:
        parsed["scheme"] = match.group(1).lower()
        rest = rest[match.end() :]
    if rest.startswith("//"):
        end = len(rest)
        for sep in "/?":
            found = rest.find(sep, 2)
            if found != -1:
                end = min(end, found)
        authority, rest = rest[2:end], rest[end:]
        authority = authority.rsplit("@", 1)[-1]
        port = re.search(r":([^:\]]*)\Z", authority)
        if port:
            parsed["port"] = port.group(1)
            authority = authority[: port.start()]
        bracketed = re.fullmatch(r"\[(.+)\]", authority)
        if bracketed:
            authority = bracketed.group(1)
        parsed["host"] = authority or None
    path = rest.split("?", 1)[0]
    parsed["path"] = path or None
    return parsed


def validate_url(url: str) -> Result:
    """An absolute URL with a scheme and a host."""
    parsed = parse_url(url)
    if not parsed["host"]:
        return None, "missing host in url"
    if not parsed["scheme"]:
        return None, "missing scheme in url"
    return True, None


def validate_header_name(name: str) -> Result:
    """Letters, digits, ``-`` and ``_`` only (what nginx accepts)."""
    if name == "":
        return None, "no header name provided"
    if _HEADER_NAME.match(name):
        return True, None
    return None, f"bad header name '{name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'"


def validate_cookie_name(name: str) -> Result:
    """An RFC 2616 token."""
    if name == "":
        return None, "no token provided"
    if not _HTTP_TOKEN_FORBIDDEN.search(name):
        return True, None
    return None, (
        "contains one or more invalid characters. ASCII control characters (0-31;127), "
        'space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.'
    )


def validate_name(name: str) -> Result:
    if _NAME.match(name):
        return True, None
    return None, f"invalid value '{name}': it must only contain alphanumeric and '., -, _, ~' characters"


def _utf8(value: str) -> bytes | None:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        return None


def validate_utf8_name(name: str) -> Result:
    data = _utf8(name)
    if data is None:
        return None, "invalid utf-8 character sequence detected"
    if _UTF8_NAME.match(data):
        return True, None
    return (
        None,
        f"invalid value '{name}': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
    )


def validate_tag(tag: str) -> Result:
    data = _utf8(tag)
    if data is None:
        return None, "invalid utf-8 character sequence detected"
    if _TAG.match(data):
        return True, None
    return (
        None,
        f"invalid tag '{tag}': expected printable ascii (except `,` and `/`) or valid utf-8 sequences",
    )
