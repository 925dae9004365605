"""The upstream path: Kong's table joining service path and request path (route_match.py)."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from host.router import Router, build_upstream_path, normalize_path

# (service path, strip_path, stripped prefix, normalized request path, expected upstream path)
TABLE = [
    # base ends with "/", strip_path on, nothing left after the prefix
    ("/", True, "/", "/", "/"),
    ("/", True, "/route", "/route", "/"),
    ("/srv/", True, "/rou", "/rou", "/srv"),
    ("/srv/", True, "/rou/", "/rou/", "/srv/"),
    ("/service/", True, "/route", "/route", "/service"),
    # base ends with "/", strip_path on, postfix starts with "/": one slash is dropped
    ("/", True, "/route", "/route/", "/"),
    ("/service/", True, "/route", "/route/", "/service/"),
    ("/service/", True, "/route", "/route/req", "/service/req"),
    # base ends with "/", strip_path on, postfix without leading "/"
    ("/service/", True, "/route", "/routereq", "/service/req"),
    ("/service/", True, "/", "/route", "/service/route"),
    ("/", True, "/route", "/routereq", "/req"),
    # base ends with "/", strip_path off: the request's leading "/" is dropped
    ("/", False, "/", "/", "/"),
    ("/", False, "/", "/route/req", "/route/req"),
    ("/service/", False, "/", "/", "/service/"),
    ("/service/", False, "/", "/route/", "/service/route/"),
    ("/srv/", False, "/", "/rou", "/srv/rou"),
    # base without "/", strip_path on, nothing left after the prefix
    ("/service", True, "/route", "/route", "/service"),
    ("/service", True, "/route/", "/route/", "/service/"),
    ("/service", True, "/", "/", "/service"),
    # base without "/", strip_path on, postfix starts with "/"
    ("/service", True, "/route", "/route/", "/service/"),
    ("/api", True, "/orders", "/orders/1", "/api/1"),
    ("/service", True, "/route/", "/route//", "/service/"),
    # base without "/", strip_path on, postfix without leading "/": a "/" is inserted
    ("/srv", True, "/rou", "/roureq", "/srv/req"),
    ("/service", True, "/", "/route/", "/service/route/"),
    ("/service", True, "/route/", "/route/req", "/service/req"),
    # base without "/", strip_path off
    ("/service", False, "/", "/", "/service"),
    ("/api", False, "/", "/orders/1", "/api/orders/1"),
    ("/service", False, "/", "/route/", "/service/route/"),
    ("/srv", False, "/", "/roureq", "/srv/roureq"),
    # no service path means "/"
    (None, False, "/", "/a/b", "/a/b"),
    (None, True, "/a", "/a", "/"),
    (None, True, "/a", "/a/b", "/b"),
    ("", True, "/a", "/a/", "/"),
    # what follows the prefix cannot climb out of the service path
    ("/service", True, "/route", "/route./req", "/service/req"),
    ("/service", True, "/route", "/route../req", "/service/req"),
    ("/service/", True, "/route", "/route./req", "/service/req"),
    ("/service", True, "/route", "/route.", "/service"),
    ("/service/", True, "/route", "/route..", "/service"),
    ("/service", False, "/", "/route./req", "/service/route./req"),
    # a regex prefix (capture 0) strips like a configured one
    ("/svc", True, "/users/1984", "/users/1984/profile", "/svc/profile"),
]


@pytest.mark.parametrize(("base", "strip", "prefix", "req_path", "expected"), TABLE)
def test_build_upstream_path_table(
    base: str | None, strip: bool, prefix: str, req_path: str, expected: str
) -> None:
    assert build_upstream_path(base, strip, prefix, req_path) == expected


def test_prefix_is_ignored_without_strip_path() -> None:
    assert build_upstream_path("/svc", False, "/route", "/route/x") == "/svc/route/x"


SERVICES = {"svc": {"id": "svc", "name": "svc", "protocol": "http", "host": "up", "port": 80, "path": "/api"}}


def _router(**route: object) -> Router:
    base = {
        "id": "00000000-0000-4000-8000-000000000001",
        "name": "r",
        "strip_path": True,
        "preserve_host": False,
        "regex_priority": 0,
        "protocols": ["http", "https"],
        "service": {"id": "svc"},
    }
    base.update(route)
    return Router([base], SERVICES)


def _upstream(router: Router, raw_path: str) -> tuple[str, str | None]:
    path = normalize_path(raw_path)
    match = router.match("GET", "example.com", path, CIMultiDict(), 8000)
    assert match is not None
    return match.upstream_path(path), match.stripped_prefix


def test_documented_example_strip_path_on() -> None:
    assert _upstream(_router(paths=["/orders"]), "/orders/1") == ("/api/1", "/orders")


def test_documented_example_strip_path_off() -> None:
    assert _upstream(_router(paths=["/orders"], strip_path=False), "/orders/1") == ("/api/orders/1", None)


def test_root_prefix_strips_nothing_and_sets_no_forwarded_prefix() -> None:
    assert _upstream(_router(paths=["/"]), "/x") == ("/api/x", None)


def test_route_without_paths_strips_nothing() -> None:
    assert _upstream(_router(hosts=["example.com"]), "/x/") == ("/api/x/", None)


def test_regex_route_strips_capture_zero() -> None:
    router = _router(paths=[r"~/users/(?<id>\d+)"])
    assert _upstream(router, "/users/1984/profile") == ("/api/profile", "/users/1984")


def test_upstream_path_is_escaped_after_normalization() -> None:
    router = _router(paths=["/orders"])
    # %20 is decoded by normalization and escaped again; %2F stays encoded; é is escaped per byte
    assert _upstream(router, "/orders/a%20b/c%2fd/caf%C3%A9") == ("/api/a%20b/c%2Fd/caf%C3%A9", "/orders")


def test_upstream_path_after_dot_segments() -> None:
    router = _router(paths=["/orders"])
    assert _upstream(router, "/x/../orders/./1") == ("/api/1", "/orders")


def test_service_less_route_uses_root_base() -> None:
    router = Router(
        [
            {
                "id": "00000000-0000-4000-8000-000000000002",
                "paths": ["/p"],
                "strip_path": True,
                "service": None,
            }
        ],
        {},
    )
    match = router.match("GET", "h", "/p/q", CIMultiDict(), 80)
    assert match is not None and match.service is None
    assert match.upstream_path("/p/q") == "/q"
