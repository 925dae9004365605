"""The result of a routing decision and the upstream path built from it.

:func:`build_upstream_path` is Kong's ``path_handling = "v0"`` join of the
service path and the request path (``get_upstream_uri_v0`` in
``kong/router/utils.lua``); the ``traditional_compatible`` router uses it for
``v1`` routes too.  :class:`RouteMatch` carries what the proxy and the PDK need
from a match: the route, its service, the URI captures, the prefix that
``strip_path`` removes and the value of ``X-Forwarded-Prefix``.
"""

from __future__ import annotations

from typing import Any

from host.router.normalize import escape_path

__all__ = ["RouteMatch", "build_upstream_path"]


def _sanitize_postfix(postfix: str) -> str:
    # What is left after the stripped prefix must not climb out of the service path.
    if postfix == "." or postfix == "..":
        return ""
    if postfix.startswith("./"):
        return postfix[2:]
    if postfix.startswith("../"):
        return postfix[3:]
    return postfix


def build_upstream_path(base: str | None, strip_path: bool, prefix: str, req_path: str) -> str:
    """Join the service path and the (normalized) request path as Kong does.

    ``base`` is the service path (``None`` means ``/``); ``prefix`` is the part of
    ``req_path`` that ``strip_path`` removes (ignored when ``strip_path`` is false);
    ``req_path`` is the normalized request path without query string.  The result
    is not escaped; see :meth:`RouteMatch.upstream_path`.

    ===========  ==========  ====================  =========================================
    base ends /  strip_path  postfix               result
    ===========  ==========  ====================  =========================================
    yes          true        empty                 ``/`` if base is ``/``; base if req_path
                                                   ends with ``/``; else base minus its ``/``
    yes          true        starts with ``/``     ``base[:-1] + postfix``
    yes          true        other                 ``base + postfix``
    yes          false       (unused)              ``base + req_path[1:]``
    no           true        empty                 ``base + "/"`` if req_path ends with ``/``
                                                   and is longer than 1, else base
    no           true        starts with ``/``     ``base + postfix``
    no           true        other                 ``base + "/" + postfix``
    no           false       (unused)              base if req_path is ``/``, else
                                                   ``base + req_path``
    ===========  ==========  ====================  =========================================

    ``postfix`` is ``req_path[len(prefix):]`` with ``.``/``..`` emptied and a leading
    ``./`` or ``../`` removed.

    >>> build_upstream_path("/api", True, "/orders", "/orders/1")
    '/api/1'
    >>> build_upstream_path("/api", False, "/", "/orders/1")
    '/api/orders/1'
    """
    if not base:
        base = "/"
    if base[-1] == "/":
        if not strip_path:
            return base + req_path[1:]
        postfix = _sanitize_postfix(req_path[len(prefix) :])
        if postfix == "":
            if base == "/":
                return "/"
            if req_path.endswith("/"):
                return base
            return base[:-1]
        if postfix[0] == "/":
            return base[:-1] + postfix
        return base + postfix

    if not strip_path:
        if req_path == "/":
            return base
        return base + req_path
    postfix = _sanitize_postfix(req_path[len(prefix) :])
    if postfix == "":
        if len(req_path) > 1 and req_path.endswith("/"):
            return base + "/"
        return base
    if postfix[0] == "/":
        return base + postfix
    return base + "/" + postfix


_NO_UNNAMED: tuple[str | None, ...] = ()
_NO_NAMED: tuple[tuple[str, str], ...] = ()


class RouteMatch:
    """One routing decision.  Instances are shared through the match cache: read only.

    Attributes:
        route: the matched route dict, as configured (never a split internal copy).
        service: the route's service dict, or ``None`` for a service-less route.
        matched_path: the part of the path the route matched: the configured prefix
            for a prefix path, capture 0 for a regex path (``None`` when the route has
            no paths, or when a regex matched the empty string).
        prefix: what ``strip_path`` removes: ``matched_path`` when the route strips,
            ``"/"`` otherwise (Kong's ``match_t.prefix or "/"``).
        stripped_prefix: the value for ``X-Forwarded-Prefix``: ``prefix`` when a strip
            happened (``prefix != "/"``), else ``None``.
        strip_path, preserve_host: the route's flags.
    """

    __slots__ = (
        "route",
        "service",
        "matched_path",
        "prefix",
        "stripped_prefix",
        "strip_path",
        "preserve_host",
        "_base",
        "_unnamed",
        "_named",
    )

    def __init__(
        self,
        route: dict[str, Any],
        service: dict[str, Any] | None,
        matched_path: str | None,
        unnamed: tuple[str | None, ...] = _NO_UNNAMED,
        named: tuple[tuple[str, str], ...] = _NO_NAMED,
    ) -> None:
        self.route = route
        self.service = service
        self.matched_path = matched_path
        self.strip_path = bool(route.get("strip_path", True))
        self.preserve_host = bool(route.get("preserve_host", False))
        self.prefix = (matched_path or "/") if self.strip_path else "/"
        self.stripped_prefix = self.prefix if self.prefix != "/" else None
        self._base = service.get("path") if service is not None else None
        self._unnamed = unnamed
        self._named = named

    @property
    def uri_captures(self) -> dict[str, Any]:
        """The captures of a regex path, shaped like ``kong.request.get_uri_captures()``.

        ``{"unnamed": [...], "named": {...}}``.  ``unnamed[0]`` is the whole match and
        ``unnamed[i]`` is group ``i`` (named groups included, as Kong numbers them too);
        a group that took no part in the match is ``None`` (absent in Kong).  ``named``
        holds only the named groups that matched.  Prefix paths, regexes without groups
        and regexes none of whose groups matched give ``{"unnamed": [], "named": {}}``.
        A fresh dict is returned on every call, so callers may modify it.
        """
        return {"unnamed": list(self._unnamed), "named": dict(self._named)}

    def upstream_path(self, normalized_path: str) -> str:
        """The escaped path to send upstream for ``normalized_path`` (no query string).

        Joins the service path and the request path per :func:`build_upstream_path`,
        then escapes the result as Kong does before proxying.
        """
        return escape_path(build_upstream_path(self._base, self.strip_path, self.prefix, normalized_path))

    def __repr__(self) -> str:
        name = self.route.get("name") or self.route.get("id")
        return f"<RouteMatch route={name!r} matched_path={self.matched_path!r}>"
