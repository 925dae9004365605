"""The HTTP router: Kong's ``traditional_compatible`` flavor over an index, with an LRU cache.

``Router(routes, services)`` compiles the routes once (``_compile.py``), indexes
them by host key and path prefix (``_index.py``) and answers
:meth:`Router.match` by testing only the candidates the index yields, in priority
order, stopping at the first hit in each list that beats the best so far.

Results are cached, as Kong does, in two LRU caches (matches and misses) keyed by
the request inputs that some route actually uses: method, Host header and path
always; the listener port when a route host names a port; the scheme and SNI when a
route has ``snis``; the values of every header name some route matches on.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from host.router._compile import compile_routes
from host.router._entry import split_host_port
from host.router._index import HostIndex
from host.router.route_match import RouteMatch

__all__ = ["Router", "DEFAULT_CACHE_SIZE"]

#: Entries in each of the positive and negative match caches (Kong's default).
DEFAULT_CACHE_SIZE = 5000

_EMPTY_HEADERS: Mapping[str, str] = CIMultiDictProxy(CIMultiDict())
_MISS = object()


class Router:
    """Match requests to routes with Kong's ``traditional_compatible`` semantics.

    Args:
        routes: validated Kong route dicts (defaults filled).
        services: service dicts by id; a route whose service has ``enabled: False``
            is left out.
        cache_size: entries in each of the match and miss LRU caches; 0 disables
            caching.

    Attributes:
        last_evaluated: how many candidate entries the last uncached :meth:`match`
            tested (diagnostics: it proves the index keeps the scan short).

    Raises:
        ValueError: a route names an unknown service or holds an invalid regex.
    """

    def __init__(
        self,
        routes: list[dict[str, Any]],
        services: dict[str, dict[str, Any]],
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        entries = compile_routes(routes, services)
        self._entries = entries
        self._index = HostIndex(entries)
        self._cache_size = cache_size
        self._hits: OrderedDict[tuple[Any, ...], RouteMatch] = OrderedDict()
        self._misses: OrderedDict[tuple[Any, ...], bool] = OrderedDict()
        self._uses_headers = any(e.headers for e in entries)
        self._uses_snis = any(e.snis for e in entries)
        self._uses_port = any(spec.port is not None for e in entries for spec in e.hosts)
        names: dict[str, None] = {}
        for entry in entries:
            for rule in entry.headers:
                names[rule.name] = None
                names[rule.alt_name] = None
        self._header_names = tuple(names)
        self._simple_key = not (self._uses_headers or self._uses_snis or self._uses_port)
        self.last_evaluated = 0

    def __len__(self) -> int:
        """The number of internal entries (routes, counting each part of a split route)."""
        return len(self._entries)

    def clear_cache(self) -> None:
        """Forget every cached match and miss."""
        self._hits.clear()
        self._misses.clear()

    def _cache_key(
        self,
        method: str,
        host_header: str,
        path: str,
        headers: Mapping[str, str] | None,
        port: int,
        scheme: str,
        sni: str | None,
    ) -> tuple[Any, ...]:
        key: list[Any] = [method, host_header, path]
        if self._uses_port:
            key.append(port)
        if self._uses_snis:
            https = scheme == "https"
            key.append(https)
            key.append(sni.lower() if https and sni else None)
        if self._uses_headers:
            source = headers if headers is not None else _EMPTY_HEADERS
            for name in self._header_names:
                key.append(tuple(source.getall(name, ())))  # type: ignore[attr-defined]
        return tuple(key)

    def match(
        self,
        method: str,
        host_header: str,
        path: str,
        headers: Mapping[str, str] | None,
        port: int,
        scheme: str = "http",
        sni: str | None = None,
    ) -> RouteMatch | None:
        """Return the best matching route for a request, or ``None``.

        Args:
            method: the request method, compared case-sensitively.
            host_header: the ``Host`` header, possibly with ``:port`` (ignored: route
                hosts written ``host:port`` compare ``port``); compared lowercased.
            path: the path already normalized with
                :func:`~host.router.normalize.normalize_path`, without query string.
            headers: the request headers, a case-insensitive multi-dict
                (``multidict.CIMultiDict`` or its proxy).
            port: the port the gateway listener accepted the connection on.
            scheme: ``"http"`` or ``"https"``; route ``snis`` only apply to https.
            sni: the TLS server name, if any.
        """
        if self._cache_size <= 0:
            return self._find(method, host_header, path, headers, port, scheme, sni)
        if self._simple_key:
            key: tuple[Any, ...] = (method, host_header, path)
        else:
            key = self._cache_key(method, host_header, path, headers, port, scheme, sni)
        hits = self._hits
        found = hits.get(key, _MISS)
        if found is not _MISS:
            hits.move_to_end(key)
            return found  # type: ignore[return-value]
        misses = self._misses
        if key in misses:
            misses.move_to_end(key)
            return None
        result = self._find(method, host_header, path, headers, port, scheme, sni)
        if result is None:
            misses[key] = True
            if len(misses) > self._cache_size:
                misses.popitem(last=False)
        else:
            hits[key] = result
            if len(hits) > self._cache_size:
                hits.popitem(last=False)
        return result

    def _find(
        self,
        method: str,
        host_header: str,
        path: str,
        headers: Mapping[str, str] | None,
        port: int,
        scheme: str,
        sni: str | None,
    ) -> RouteMatch | None:
        if not path.isascii():
            try:
                path.encode("utf-8")
            except UnicodeEncodeError:
                return None  # Kong's router rejects paths that are not valid UTF-8
        host = split_host_port(host_header)[0].lower() if host_header else ""
        if headers is None:
            headers = _EMPTY_HEADERS
        https = scheme == "https"
        best_rank = len(self._entries)
        best: RouteMatch | None = None
        evaluated = 0
        path_len = len(path)
        for index in self._index.groups(host):
            prefixes = index.prefixes
            for length in index.lengths:
                if length > path_len:
                    continue
                items = prefixes.get(path[:length])
                if items is None:
                    continue
                for rank, entry, ports, fixed in items:
                    if rank >= best_rank:
                        break
                    evaluated += 1
                    if (ports is None or port in ports) and (
                        entry.simple or entry.accepts(method, headers, https, sni)
                    ):
                        best_rank, best = rank, fixed
                        break
            for rank, entry, ports, _ in index.regex:
                if rank >= best_rank:
                    break
                evaluated += 1
                if (ports is None or port in ports) and (
                    entry.simple or entry.accepts(method, headers, https, sni)
                ):
                    found = entry.regex_match(path)
                    if found is not None:
                        best_rank, best = rank, found
                        break
            for rank, entry, ports, fixed in index.nopath:
                if rank >= best_rank:
                    break
                evaluated += 1
                if (ports is None or port in ports) and (
                    entry.simple or entry.accepts(method, headers, https, sni)
                ):
                    best_rank, best = rank, fixed
                    break
        self.last_evaluated = evaluated
        return best
