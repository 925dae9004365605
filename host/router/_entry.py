"""Internal matcher entries and the per-field tests of Kong's traditional_compatible router.

An :class:`Entry` holds one matcher (a route, or one part of a split route) in a
form that is cheap to test: methods as a frozenset, hosts and SNIs as
(kind, value) specs, headers as :class:`HeaderRule`, regex paths compiled.
The index (``_index.py``) already guarantees the host name and the path prefix of
the candidates it yields, so :meth:`Entry.accepts` only tests the other fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from host.router.route_match import RouteMatch

__all__ = ["EXACT", "SUFFIX", "PREFIX", "Entry", "HeaderRule", "HostSpec", "split_host_port"]

EXACT, SUFFIX, PREFIX = 0, 1, 2


class HostSpec(NamedTuple):
    """One route host: ``kind`` EXACT (``a.com``), SUFFIX (``*.a.com`` -> ``.a.com``)
    or PREFIX (``a.*`` -> ``a.``); ``port`` is the listener port required, or None."""

    kind: int
    value: str
    port: int | None


class HeaderRule(NamedTuple):
    """One route header: the request values of ``name`` (or of ``alt_name``, the same
    name with ``_`` read as ``-``) must include one in ``exact`` or one matched by a
    regex of ``regexes``, after lowercasing."""

    name: str
    alt_name: str
    exact: frozenset[str]
    regexes: tuple[re.Pattern[str], ...]


def split_host_port(value: str) -> tuple[str, int | None]:
    """Split ``host[:port]``; a port that is not all digits stays part of the host.

    ``[v6]:port`` is split after the bracket; a bare IPv6 literal has no port.
    """
    if value.startswith("["):
        end = value.find("]")
        if end != -1 and value.startswith(":", end + 1):
            tail = value[end + 2 :]
            if tail.isascii() and tail.isdigit():
                return value[: end + 1], int(tail)
        return value, None
    colon = value.find(":")
    if colon == -1:
        return value, None
    tail = value[colon + 1 :]
    if tail.isascii() and tail.isdigit():
        return value[:colon], int(tail)
    return value, None


def host_matches(spec: HostSpec, host: str, port: int) -> bool:
    """Whether the request host name (lowercased, no port) and listener port fit ``spec``."""
    if spec.port is not None and spec.port != port:
        return False
    if spec.kind == EXACT:
        return host == spec.value
    if spec.kind == SUFFIX:
        return host.endswith(spec.value)
    return host.startswith(spec.value)


def _header_ok(rule: HeaderRule, headers: Mapping[str, str]) -> bool:
    values = headers.getall(rule.name, ())  # type: ignore[attr-defined]
    if not values and rule.alt_name != rule.name:
        values = headers.getall(rule.alt_name, ())  # type: ignore[attr-defined]
    for value in values:
        low = value.lower()
        if low in rule.exact:
            return True
        for regex in rule.regexes:
            if regex.search(low):
                return True
    return False


def _sni_ok(specs: tuple[tuple[int, str], ...], sni: str | None) -> bool:
    if sni is None:
        return False
    sni = sni.lower()
    for kind, value in specs:
        if kind == EXACT:
            if sni == value:
                return True
        elif kind == SUFFIX:
            if sni.endswith(value):
                return True
        elif sni.startswith(value):
            return True
    return False


class Entry:
    """One matcher of the router, with its priority ``sort_key`` and ``rank`` (0 = best)."""

    __slots__ = (
        "route",
        "service",
        "entry_id",
        "sort_key",
        "rank",
        "methods",
        "hosts",
        "prefixes",
        "regexes",
        "headers",
        "snis",
        "simple",
    )

    def __init__(
        self,
        *,
        route: dict[str, Any],
        service: dict[str, Any] | None,
        entry_id: str,
        sort_key: tuple[Any, ...],
        methods: frozenset[str] | None,
        hosts: tuple[HostSpec, ...],
        prefixes: tuple[str, ...],
        regexes: tuple[re.Pattern[str], ...],
        headers: tuple[HeaderRule, ...],
        snis: tuple[tuple[int, str], ...],
    ) -> None:
        self.route = route
        self.service = service
        self.entry_id = entry_id
        self.sort_key = sort_key
        self.rank = -1
        self.methods = methods
        self.hosts = hosts
        self.prefixes = prefixes
        self.regexes = regexes
        self.headers = headers
        self.snis = snis
        #: True when only host and path (both checked by the index) constrain the entry.
        self.simple = methods is None and not headers and not snis

    def accepts(self, method: str, headers: Mapping[str, str], https: bool, sni: str | None) -> bool:
        """Test methods, headers and SNI (the SNI clause holds for non-https requests)."""
        if self.methods is not None and method not in self.methods:
            return False
        for rule in self.headers:
            if not _header_ok(rule, headers):
                return False
        return not (self.snis and https and not _sni_ok(self.snis, sni))

    def fixed_match(self, matched_path: str | None) -> RouteMatch:
        """The match for a prefix path (or no path): the same for every request."""
        return RouteMatch(self.route, self.service, matched_path)

    def regex_match(self, path: str) -> RouteMatch | None:
        """Try the regex paths in their configured order; the first that matches wins."""
        for regex in self.regexes:
            m = regex.search(path)
            if m is None:
                continue
            groups = m.groups()
            if any(g is not None for g in groups):
                unnamed = (m.group(0), *groups)
                named = tuple((k, v) for k, v in m.groupdict().items() if v is not None)
                return RouteMatch(self.route, self.service, m.group(0) or None, unnamed, named)
            return RouteMatch(self.route, self.service, m.group(0) or None)
        return None
