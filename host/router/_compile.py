"""Turn Kong route dicts into internal entries with their priority (traditional_compatible).

One *entry* is what Kong's ATC router holds as one matcher: a route, or one part
of a route whose ``paths`` mix regex paths and prefixes of different lengths
(such a route is split into one entry for all its regex paths and one entry per
distinct prefix length; every part still reports the original route).

Priority (``kong/router/transform.lua``), compared field by field, higher first:
match categories, plain-host-only, header-name count, regex path,
``regex_priority`` (regex entries only), prefix length in bytes, then the entry id
(route UUID, or UUIDv5 of ``"<id>#<group>"`` for split parts) in descending order.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any

from host.router._entry import EXACT, PREFIX, SUFFIX, Entry, HeaderRule, HostSpec, split_host_port

__all__ = ["compile_routes", "translate_regex", "SPLIT_NAMESPACE"]

#: Namespace of the UUIDv5 ids Kong gives to the parts of a split route.
SPLIT_NAMESPACE = uuid.UUID("7f145bf9-0dce-4f91-98eb-debbce4b9f6b")

_STREAM_PROTOCOLS = frozenset({"tcp", "tls", "udp", "tls_passthrough"})
_MAX_HEADER_COUNT = 255
_MAX_LENGTH_MASK = 0x7FFFF
_LEADING_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")


def translate_regex(pattern: str) -> str:
    """Rewrite a Kong (PCRE / Rust ``regex``) pattern for Python's ``re``.

    ``(?<name>`` becomes ``(?P<name>``, ``\\z`` becomes ``\\Z`` and an unescaped ``$``
    outside a character class becomes ``\\Z`` (Rust's ``$`` does not match before a
    trailing newline, Python's does).  Everything else is passed through.
    """
    out: list[str] = []
    in_class = False
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            out.append("\\Z" if nxt == "z" and not in_class else c + nxt)
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("]")
                i += 1
            continue
        elif c == "$":
            c = "\\Z"
        elif c == "(" and pattern.startswith("?<", i + 1) and pattern[i + 3 : i + 4].isidentifier():
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _compile_anchored(pattern: str) -> re.Pattern[str]:
    # Kong prepends "^" to the pattern text; a leading global flag group must stay first.
    body = translate_regex(pattern)
    flags = _LEADING_FLAGS.match(body)
    if flags:
        return re.compile(flags.group(0) + "^" + body[flags.end() :])
    return re.compile("^" + body)


def _where(index: int, route: dict[str, Any]) -> str:
    return f"routes[{index}] (id={route.get('id')}, name={route.get('name')})"


def _host_spec(text: str) -> HostSpec:
    host, port = split_host_port(text.lower())
    if host.startswith("*"):
        return HostSpec(SUFFIX, host[1:], port)
    if host.endswith("*"):
        return HostSpec(PREFIX, host[:-1], port)
    return HostSpec(EXACT, host, port)


def _sni_spec(text: str) -> tuple[int, str]:
    sni = text.lower()
    if sni.endswith("*"):
        return PREFIX, sni[:-1]
    if len(sni) > 1 and sni.endswith("."):
        sni = sni[:-1]
    if sni.startswith("*"):
        return SUFFIX, sni[1:]
    return EXACT, sni


def _header_rules(headers: dict[str, list[str]], where: str) -> tuple[HeaderRule, ...]:
    rules = []
    for name, values in headers.items():
        exact: set[str] = set()
        regexes: list[re.Pattern[str]] = []
        for value in values:
            # Kong lowercases the whole value, the pattern of a "~*" value included.
            if value.startswith("~*"):
                try:
                    regexes.append(re.compile(translate_regex(value[2:].lower())))
                except re.error as err:
                    raise ValueError(f"{where}: headers.{name}: invalid regex {value!r}: {err}") from None
            else:
                exact.add(value.lower())
        under = name.lower().replace("-", "_")
        rules.append(HeaderRule(under, under.replace("_", "-"), frozenset(exact), tuple(regexes)))
    return tuple(rules)


def _path_groups(paths: list[str]) -> list[list[str]]:
    # Group by "regex" or by prefix length, in order of first appearance.
    groups: dict[int, list[str]] = {}
    for path in paths:
        key = -1 if path.startswith("~") else len(path.encode("utf-8", "surrogateescape"))
        groups.setdefault(key, []).append(path)
    return list(groups.values())


@functools.lru_cache(maxsize=65536)  # a rebuild (each Admin API write) sees the same ids
def _sort_uid(route_id: str) -> str:
    try:
        return str(uuid.UUID(route_id))
    except (ValueError, AttributeError, TypeError):
        return str(route_id)


def _entries_for_route(index: int, route: dict[str, Any], service: dict[str, Any] | None) -> list[Entry]:
    where = _where(index, route)
    methods = route.get("methods") or None
    hosts = route.get("hosts")
    headers = route.get("headers") or None
    snis = route.get("snis") or None
    paths = route.get("paths") or None

    host_specs = tuple(_host_spec(h) for h in hosts) if hosts else ()
    header_rules = _header_rules(headers, where) if headers else ()
    sni_specs = tuple(_sni_spec(s) for s in snis) if snis else ()
    weight = sum(1 for field in (methods, hosts, headers, snis, paths) if field)
    plain_host_only = isinstance(hosts, list) and all("*" not in h for h in hosts)
    header_count = min(len(header_rules), _MAX_HEADER_COUNT)
    regex_priority = int(route.get("regex_priority") or 0)

    groups = _path_groups(paths) if paths else [[]]
    split = len(groups) > 1
    entries = []
    for group_index, group in enumerate(groups, start=1):
        is_regex = bool(group) and group[0].startswith("~")
        regexes: list[re.Pattern[str]] = []
        if is_regex:
            for path in group:
                try:
                    regexes.append(_compile_anchored(path[1:]))
                except re.error as err:
                    pos = paths.index(path)
                    raise ValueError(f"{where}: paths[{pos}]: invalid regex {path!r}: {err}") from None
        length = 0 if is_regex or not group else len(group[0].encode("utf-8", "surrogateescape"))
        entry_id = str(uuid.uuid5(SPLIT_NAMESPACE, f"{route['id']}#{group_index}")) if split else route["id"]
        sort_key = (
            weight,
            int(plain_host_only),
            header_count,
            int(is_regex),
            regex_priority if is_regex else 0,
            length & _MAX_LENGTH_MASK,
            _sort_uid(entry_id),
        )
        entries.append(
            Entry(
                route=route,
                service=service,
                entry_id=entry_id,
                sort_key=sort_key,
                methods=frozenset(methods) if methods else None,
                hosts=host_specs,
                prefixes=() if is_regex else tuple(group),
                regexes=tuple(regexes),
                headers=header_rules,
                snis=sni_specs,
            )
        )
    return entries


def compile_routes(routes: list[dict[str, Any]], services: dict[str, dict[str, Any]]) -> list[Entry]:
    """Build the entries of ``routes``, best priority first, with ``rank`` set (0 = best).

    Stream routes (first protocol tcp/tls/udp/tls_passthrough) and routes whose
    service has ``enabled: False`` are left out.  A route naming an unknown service
    or holding an invalid regex raises ``ValueError`` naming the route.
    """
    entries: list[Entry] = []
    for index, route in enumerate(routes):
        protocols = route.get("protocols") or ("http",)
        if protocols[0] in _STREAM_PROTOCOLS:
            continue
        service = None
        service_ref = route.get("service")
        if service_ref:
            service = services.get(service_ref["id"])
            if service is None:
                raise ValueError(f"{_where(index, route)}: service {service_ref['id']} not found")
            if service.get("enabled", True) is False:
                continue
        entries.extend(_entries_for_route(index, route, service))
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    for rank, entry in enumerate(entries):
        entry.rank = rank
    return entries
