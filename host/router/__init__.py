"""HTTP routing with Kong's ``traditional_compatible`` semantics.

* :class:`Router` picks the route for a request (hosts, paths, methods, headers,
  SNIs; Kong's priority order; split routes; an LRU cache of results).
* :class:`RouteMatch` is the decision: route, service, URI captures, the prefix
  ``strip_path`` removes and :meth:`RouteMatch.upstream_path`.
* :func:`normalize_path` is the request-path normalization done before matching;
  :func:`escape_path` the escaping done before proxying.
* :func:`build_upstream_path` joins the service path and the request path.
"""

from host.router.normalize import escape_path, normalize_path
from host.router.route_match import RouteMatch, build_upstream_path
from host.router.router import DEFAULT_CACHE_SIZE, Router

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "Router",
    "RouteMatch",
    "build_upstream_path",
    "escape_path",
    "normalize_path",
]
