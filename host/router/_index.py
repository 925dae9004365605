"""Candidate index: find the entries that can match a request without scanning them all.

Two levels.  The host level picks the :class:`PathIndex` objects whose host key fits
the request host: the exact host (one dict lookup), the ``*.suffix`` and ``prefix.*``
keys found by cutting the host at each dot (dict lookups), and the index of
entries without hosts.  The path level, per host key, maps each configured prefix to
its entries; the request path is probed with ``path[:L]`` for each distinct prefix
length ``L``.  Regex entries and entries without paths are kept in separate lists.

Every list is sorted by entry rank (best first) and holds items
``(rank, entry, ports, match)``: ``ports`` is the frozenset of listener ports the
host key requires (``None`` = any port) and ``match`` the ready-made
:class:`RouteMatch` of a prefix or path-less entry (``None`` for regex entries).
The router scans each list until its rank is no better than the best found so far.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from host.router._entry import EXACT, PREFIX, SUFFIX, Entry

if TYPE_CHECKING:  # pragma: no cover
    from host.router.route_match import RouteMatch

__all__ = ["PathIndex", "HostIndex", "Item"]

Item = tuple[int, Entry, "frozenset[int] | None", "RouteMatch | None"]


class PathIndex:
    """The entries of one host key, indexed by path prefix."""

    __slots__ = ("prefixes", "lengths", "regex", "nopath")

    def __init__(self) -> None:
        self.prefixes: dict[str, list[Item]] = {}
        self.lengths: tuple[int, ...] = ()
        self.regex: list[Item] = []
        self.nopath: list[Item] = []

    def add(self, entry: Entry, ports: frozenset[int] | None) -> None:
        """Register ``entry`` under this host key, with the ports the key requires."""
        if entry.regexes:
            self.regex.append((entry.rank, entry, ports, None))
        elif entry.prefixes:
            for prefix in entry.prefixes:
                items = self.prefixes.setdefault(prefix, [])
                items.append((entry.rank, entry, ports, entry.fixed_match(prefix)))
        else:
            self.nopath.append((entry.rank, entry, ports, entry.fixed_match(None)))

    def freeze(self) -> None:
        """Sort every list by rank and precompute the probe lengths, longest first."""
        for items in self.prefixes.values():
            items.sort(key=_rank)
        self.regex.sort(key=_rank)
        self.nopath.sort(key=_rank)
        self.lengths = tuple(sorted({len(p) for p in self.prefixes}, reverse=True))


def _rank(item: Item) -> int:
    return item[0]


def _merge_ports(entry: Entry) -> dict[tuple[int, str], frozenset[int] | None]:
    # Per host key, the ports the entry accepts: None as soon as one spec has no port.
    merged: dict[tuple[int, str], set[int] | None] = {}
    for spec in entry.hosts:
        key = (spec.kind, spec.value)
        if spec.port is None:
            merged[key] = None
        elif key not in merged:
            merged[key] = {spec.port}
        elif merged[key] is not None:
            merged[key].add(spec.port)  # type: ignore[union-attr]
    return {k: (frozenset(v) if v is not None else None) for k, v in merged.items()}


class HostIndex:
    """All entries, split by host key; :meth:`groups` yields the path indexes to search."""

    __slots__ = ("exact", "suffix", "prefix", "odd", "anyhost", "wildcards")

    def __init__(self, entries: list[Entry]) -> None:
        self.exact: dict[str, PathIndex] = {}
        self.suffix: dict[str, PathIndex] = {}
        self.prefix: dict[str, PathIndex] = {}
        #: Wildcards not cut at a dot (``*abc.com``): tested one by one.
        self.odd: list[tuple[int, str, PathIndex]] = []
        self.anyhost: PathIndex | None = None
        by_kind = {EXACT: self.exact, SUFFIX: self.suffix, PREFIX: self.prefix}
        anyhost = PathIndex()
        for entry in entries:
            if not entry.hosts:
                anyhost.add(entry, None)
                continue
            for (kind, value), ports in _merge_ports(entry).items():
                if (kind == SUFFIX and not value.startswith(".")) or (
                    kind == PREFIX and not value.endswith(".")
                ):
                    self._add_odd(kind, value, entry, ports)
                    continue
                table = by_kind[kind]
                index = table.get(value)
                if index is None:
                    index = table[value] = PathIndex()
                index.add(entry, ports)
        for table in (self.exact, self.suffix, self.prefix):
            for index in table.values():
                index.freeze()
        for _, _, index in self.odd:
            index.freeze()
        anyhost.freeze()
        if anyhost.prefixes or anyhost.regex or anyhost.nopath:
            self.anyhost = anyhost
        self.wildcards = bool(self.suffix or self.prefix)

    def _add_odd(self, kind: int, value: str, entry: Entry, ports: frozenset[int] | None) -> None:
        for odd_kind, odd_value, index in self.odd:
            if odd_kind == kind and odd_value == value:
                index.add(entry, ports)
                return
        index = PathIndex()
        index.add(entry, ports)
        self.odd.append((kind, value, index))

    def groups(self, host: str) -> list[PathIndex]:
        """The path indexes whose host key matches ``host`` (lowercased, without port)."""
        found: list[PathIndex] = []
        index = self.exact.get(host)
        if index is not None:
            found.append(index)
        if self.wildcards:
            suffix, prefix = self.suffix, self.prefix
            dot = host.find(".")
            while dot != -1:
                if suffix:
                    index = suffix.get(host[dot:])
                    if index is not None:
                        found.append(index)
                if prefix:
                    index = prefix.get(host[: dot + 1])
                    if index is not None:
                        found.append(index)
                dot = host.find(".", dot + 1)
        for kind, value, index in self.odd:
            if host.endswith(value) if kind == SUFFIX else host.startswith(value):
                found.append(index)
        if self.anyhost is not None:
            found.append(self.anyhost)
        return found
