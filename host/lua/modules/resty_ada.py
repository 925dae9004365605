"""Python half of ``resty.ada``: URLs parsed and serialized the WHATWG way (as the Ada
library does), written on :mod:`ipaddress` and the IDNA codec.

Lua holds a URL as its normalized href; :func:`parse` gives its components (one
crossing per URL, only when a getter needs them) and :func:`set_part` applies a setter
and returns the new href.  Covered: special schemes (http, https, ws, wss, ftp, file)
with default ports, host parsing (domains lowercased and IDNA-encoded, IPv4 in all
its WHATWG spellings, IPv6 compressed), dot segments (``.``, ``%2e``), ``\\`` as ``/``,
the spec's percent-encode sets for userinfo, path, query and fragment, opaque paths
of non-special URLs, and parsing against a base URL.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["Url", "UrlError", "parse_url", "serialize", "parse", "set_part", "backing"]

SPECIAL_PORTS: dict[str, int | None] = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "file": None}
SCHEME_TYPES = {"http": 0, "https": 2, "ws": 3, "ftp": 4, "wss": 5, "file": 6}  # others: 1

_C0 = {chr(c) for c in range(0x20)} | {"\x7f"}
# the URL Standard's percent-encode sets (each also takes every non-ASCII code point)
_C0_SET = re.compile(r"[\x00-\x1f\x7f-\U0010ffff]")
_FRAGMENT = re.compile(r'[\x00-\x20"<>`\x7f-\U0010ffff]')
_QUERY = re.compile(r'[\x00-\x20"#<>\x7f-\U0010ffff]')
_SPECIAL_QUERY = re.compile(r"[\x00-\x20\"#<>'\x7f-\U0010ffff]")
_PATH = re.compile(r'[\x00-\x20"#<>?`{}^\x7f-\U0010ffff]')
_USERINFO = re.compile(r'[\x00-\x20"#<>?`{}^/:;=@\[\\\]|\x7f-\U0010ffff]')
_FORBIDDEN_HOST = set(" #/:<>?@[\\]^|") | {"\x00", "\t", "\n", "\r"}
_FORBIDDEN_DOMAIN = _FORBIDDEN_HOST | _C0 | {"%", "\x7f"}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_SINGLE_DOT = {".", "%2e"}
_DOUBLE_DOT = {"..", ".%2e", "%2e.", "%2e%2e"}


class UrlError(ValueError):
    """Not a valid URL (or component)."""


@dataclass(frozen=True)
class Url:
    scheme: str
    username: str = ""
    password: str = ""
    host: str | None = None
    port: int | None = None
    path: str = ""
    query: str | None = None
    fragment: str | None = None
    host_type: int = 0

    @property
    def special(self) -> bool:
        return self.scheme in SPECIAL_PORTS


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode("utf-8", "surrogateescape"))


def _encode(text: str, unsafe: re.Pattern[str]) -> str:
    """``text`` with the code points of a percent-encode set as UTF-8 %XX."""
    return unsafe.sub(_percent, text)


def _ipv4_number(part: str) -> int:
    base = 10
    if part[:2].lower() == "0x":
        part, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        part, base = part[1:], 8
    if part == "":
        return 0
    return int(part, base)


def _ipv4(host: str) -> str | None:
    """The dotted form of a WHATWG IPv4 host, ``None`` when ``host`` is not one."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if not (re.fullmatch(r"[0-9]+", last) or re.fullmatch(r"0[xX][0-9A-Fa-f]*", last)):
        return None
    if len(parts) > 4:
        raise UrlError("invalid IPv4 address")
    try:
        numbers = [_ipv4_number(p) for p in parts]
    except ValueError:
        raise UrlError("invalid IPv4 address") from None
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise UrlError("invalid IPv4 address")
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n * 256 ** (3 - i)
    return str(ipaddress.IPv4Address(value))


def _parse_host(text: str, special: bool) -> tuple[str, int]:
    """(serialized host, host type 0 domain / 1 IPv4 / 2 IPv6)."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise UrlError("invalid IPv6 address")
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]", 2
        except ValueError:
            raise UrlError("invalid IPv6 address") from None
    if not special:
        if any(ch in _FORBIDDEN_HOST for ch in text):
            raise UrlError("forbidden host code point")
        return _encode(text, _C0_SET), 0
    domain = unquote(text) if "%" in text else text
    if domain == "" or any(ch in _FORBIDDEN_DOMAIN for ch in domain):
        raise UrlError("invalid host")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise UrlError("invalid host") from None
    domain = domain.lower()
    ipv4 = _ipv4(domain)
    return (ipv4, 1) if ipv4 is not None else (domain, 0)


def _normalize_path(path: str, special: bool) -> str:
    if special:
        path = path.replace("\\", "/")
    if not path.startswith("/"):
        path = "/" + path
    out: list[str] = []
    segments = path[1:].split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        low = seg.lower()
        if low in _DOUBLE_DOT:
            if out:
                out.pop()
            if last:
                out.append("")
        elif low in _SINGLE_DOT:
            if last:
                out.append("")
        else:
            out.append(_encode(seg, _PATH))
    return "/" + "/".join(out)


def _split_rest(rest: str) -> tuple[str, str | None, str | None]:
    fragment = query = None
    if "#" in rest:
        rest, fragment = rest.split("#", 1)
    if "?" in rest:
        rest, query = rest.split("?", 1)
    return rest, query, fragment


def parse_url(text: str, base: Url | None = None) -> Url:
    """Parse ``text`` (against ``base`` when it has no scheme)."""
    text = text.strip("".join(_C0) + " ").replace("\t", "").replace("\n", "").replace("\r", "")
    m = _SCHEME.match(text)
    if m is None:
        if base is None:
            raise UrlError("invalid url")
        return _relative(text, base)
    scheme, rest = m.group(1).lower(), text[m.end():]
    special = scheme in SPECIAL_PORTS
    if special:
        rest = rest.replace("\\", "/")
        if base is not None and base.scheme == scheme and not rest.startswith("/"):
            return _relative(rest, base)
        if scheme == "file":  # file://host/path, file:///path, file:/path
            if rest.startswith("//"):
                return _authority_url(scheme, rest[2:])
            return _authority_url(scheme, "/" + rest.lstrip("/"))
        return _authority_url(scheme, rest.lstrip("/"))
    if rest.startswith("//"):
        return _authority_url(scheme, rest[2:])
    path, query, fragment = _split_rest(rest)
    if not path.startswith("/"):  # an opaque path: "mailto:x", "urn:a:b"
        return Url(scheme, path=_encode(path, _C0_SET), query=_opt(query, _QUERY), fragment=_opt(fragment, _FRAGMENT))
    return Url(scheme, path=_normalize_path(path, False), query=_opt(query, _QUERY),
               fragment=_opt(fragment, _FRAGMENT))


def _opt(value: str | None, unsafe: re.Pattern[str]) -> str | None:
    return None if value is None else _encode(value, unsafe)


def _authority_url(scheme: str, rest: str) -> Url:
    special = scheme in SPECIAL_PORTS
    end = len(rest)
    for sep in ("/", "?", "#") + (("\\",) if special else ()):
        pos = rest.find(sep)
        if pos != -1:
            end = min(end, pos)
    authority, remainder = rest[:end], rest[end:]
    username = password = ""
    if "@" in authority:
        userinfo, authority = authority.rsplit("@", 1)
        username, _, password = userinfo.partition(":")
        username, password = _encode(username, _USERINFO), _encode(password, _USERINFO)
    hostport = re.fullmatch(r"(\[[^\]]*\]|[^:]*)(?::([^:]*))?", authority)
    if hostport is None:
        raise UrlError("invalid host")
    host_text, port_text = hostport.group(1), hostport.group(2)
    port = _port(scheme, port_text or "")
    if host_text == "":
        if special and scheme != "file":
            raise UrlError("empty host")
        host, host_type = "", 0
    else:
        host, host_type = _parse_host(host_text, special)
    if scheme == "file" and host == "localhost":
        host = ""
    path, query, fragment = _split_rest(remainder)
    if special or path:
        path = _normalize_path(path, special) if (special or path.startswith("/")) else path
    return Url(scheme, username, password, host, port, path,
               _opt(query, _SPECIAL_QUERY if special else _QUERY), _opt(fragment, _FRAGMENT), host_type)


def _port(scheme: str, text: str) -> int | None:
    if text == "":
        return None
    if not text.isdigit() or int(text) > 65535:
        raise UrlError("invalid port")
    port = int(text)
    return None if SPECIAL_PORTS.get(scheme) == port else port


def _relative(text: str, base: Url) -> Url:
    if base.host is None and not base.path.startswith("/"):
        raise UrlError("invalid url or base")
    if text.startswith("//") or (base.special and text.startswith("\\\\")):
        return _authority_url(base.scheme, text[2:])
    path, query, fragment = _split_rest(text)
    if path == "":
        if query is None:
            return replace(base, fragment=_opt(fragment, _FRAGMENT))
        return replace(base, query=_opt(query, _SPECIAL_QUERY if base.special else _QUERY),
                       fragment=_opt(fragment, _FRAGMENT))
    if not (path.startswith("/") or (base.special and path.startswith("\\"))):
        path = base.path.rsplit("/", 1)[0] + "/" + path
    return replace(base, path=_normalize_path(path, base.special),
                   query=_opt(query, _SPECIAL_QUERY if base.special else _QUERY),
                   fragment=_opt(fragment, _FRAGMENT))


def serialize(url: Url) -> str:
    out = [url.scheme, ":"]
    if url.host is not None:
        out.append("//")
        if url.username or url.password:
            out.append(url.username)
            if url.password:
                out.append(":" + url.password)
            out.append("@")
        out.append(url.host)
        if url.port is not None:
            out.append(f":{url.port}")
    elif url.path.startswith("//"):
        out.append("/.")
    out.append(url.path)
    if url.query is not None:
        out.append("?" + url.query)
    if url.fragment is not None:
        out.append("#" + url.fragment)
    return "".join(out)


def _origin(url: Url) -> str:
    if url.special and url.scheme != "file":
        return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port is not None else "")
    return "null"


def _components(url: Url) -> dict[str, Any]:
    host = url.host or ""
    return {
        "href": serialize(url),
        "protocol": url.scheme + ":",
        "scheme_type": SCHEME_TYPES.get(url.scheme, 1),
        "username": url.username,
        "password": url.password,
        "origin": _origin(url),
        "host": host + (f":{url.port}" if url.port is not None else ""),
        "hostname": host,
        "host_type": url.host_type,
        "port": url.port if url.port is not None else "",
        "pathname": url.path,
        "search": "" if not url.query else "?" + url.query,
        "hash": "" if not url.fragment else "#" + url.fragment,
        "has_hostname": url.host is not None,
        "has_search": url.query is not None,
        "has_hash": url.fragment is not None,
        # for the setters written in Lua: the href before the path, and the path's kind
        "special": url.special,
        "prefix": serialize(replace(url, path="", query=None, fragment=None)),
        "opaque": url.host is None and not url.path.startswith("/"),
    }


def _setter(url: Url, part: str, value: str) -> Url:
    cannot_have_credentials = url.host in (None, "") or url.scheme == "file"
    if part == "protocol":
        m = re.match(r"[A-Za-z][A-Za-z0-9+.\-]*", value.split(":", 1)[0])
        scheme = value.split(":", 1)[0].lower()
        if m is None or m.group(0) != value.split(":", 1)[0] or (scheme in SPECIAL_PORTS) != url.special:
            raise UrlError("unable to set protocol")
        if scheme == "file" and (url.username or url.password or url.port is not None):
            raise UrlError("unable to set protocol")
        port = None if SPECIAL_PORTS.get(scheme) == url.port else url.port
        return replace(url, scheme=scheme, port=port)
    if part in ("username", "password"):
        if cannot_have_credentials:
            raise UrlError(f"unable to set {part}")
        return replace(url, **{part: _encode(value, _USERINFO)})
    if part in ("host", "hostname"):
        if url.host is None and not url.special:
            raise UrlError(f"unable to set {part}")
        text = re.split(r"[/?#\\]" if url.special else r"[/?#]", value, maxsplit=1)[0]
        hostport = re.fullmatch(r"(\[[^\]]*\]|[^:]*)(?::([0-9]*).*)?", text)
        if hostport is None or (hostport.group(1) == "" and url.special and url.scheme != "file"):
            raise UrlError(f"unable to set {part}")
        host, host_type = _parse_host(hostport.group(1), url.special) if hostport.group(1) else ("", 0)
        port = url.port
        if part == "host" and hostport.group(2):
            port = _port(url.scheme, hostport.group(2))
        return replace(url, host=host, host_type=host_type, port=port)
    if part == "port":
        if cannot_have_credentials:
            raise UrlError("unable to set port")
        digits = re.match(r"[0-9]*", value).group(0)
        if digits == "" and value != "":
            raise UrlError("unable to set port")
        return replace(url, port=_port(url.scheme, digits))
    if part == "pathname":
        if url.host is None and not url.path.startswith("/"):
            raise UrlError("unable to set pathname")
        return replace(url, path=_normalize_path(value, url.special))
    if part == "search":
        value = value[1:] if value.startswith("?") else value
        return replace(url, query=_encode(value, _SPECIAL_QUERY if url.special else _QUERY) if value else None)
    if part == "hash":
        value = value[1:] if value.startswith("#") else value
        return replace(url, fragment=_encode(value, _FRAGMENT) if value else None)
    raise UrlError(f"unknown URL component {part}")


@functools.lru_cache(maxsize=1024)
def _parsed(href: bytes, base: bytes | None) -> Url | None:
    """The URL of ``href`` (against ``base``), ``None`` when invalid; cached by text."""
    try:
        base_url = parse_url(base.decode("utf-8", "surrogateescape")) if base is not None else None
        return parse_url(href.decode("utf-8", "surrogateescape"), base_url)
    except UrlError:
        return None


def parse(href: bytes, base: bytes | None = None) -> Any:
    """The components of a URL (``href`` among them), or ``(None, "invalid url")``."""
    url = _parsed(href, base)
    if url is None:
        return None, b"invalid url or base" if base is not None else b"invalid url"
    return _components(url)


def set_part(href: bytes, part: bytes, value: bytes | None) -> Any:
    """The components after setting one (``value`` ``None``: the clear_* methods), or
    ``(None, "unable to set <part>")``."""
    name = part.decode()
    url = _parsed(href, None)
    if url is None:
        return None, f"unable to set {name}".encode()
    try:
        return _components(_setter(url, name, "" if value is None else value.decode("utf-8", "surrogateescape")))
    except UrlError:
        return None, f"unable to set {name}".encode()


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    cache: dict[tuple[bytes, bytes | None], Any] = {}

    def parse_to_lua(href: bytes, base: bytes | None = None) -> Any:
        """Components as a Lua table; tables of valid URLs are kept (Lua only reads them)."""
        key = (href, base)
        found = cache.get(key)
        if found is not None:
            return found
        result = parse(href, base)
        if result.__class__ is tuple:
            return result
        table = host.to_lua(result)
        if len(cache) >= 1024:
            cache.clear()
        cache[key] = table
        return table

    def set_to_lua(href: bytes, part: bytes, value: bytes | None) -> Any:
        result = set_part(href, part, value)
        return result if result.__class__ is tuple else host.to_lua(result)

    return {"parse": parse_to_lua, "set": set_to_lua}
