"""One realistic route set, many requests; plus the match cache and the candidate index."""

from __future__ import annotations

from typing import Any

import pytest

from host.router import Router
from tests.host.router.helpers import SERVICES, match, name_of, route

ROUTES = [
    route("orders", 10, paths=["/orders"], service={"id": "svc-api"}),
    route("orders-v2", 11, paths=["/orders/v2"]),
    route("orders-post", 12, paths=["/orders"], methods=["POST"]),
    route("orders-beta", 13, paths=["/orders"], headers={"x-beta": ["on", "yes"]}),
    route("orders-beta-eu", 14, paths=["/orders"], headers={"x-beta": ["on"], "x-region": ["eu"]}),
    route("user-by-id", 20, paths=[r"~/users/(?<id>\d+)"]),
    route("user-profile", 21, paths=[r"~/users/\d+/profile"], regex_priority=10),
    route("users", 22, paths=["/users"]),
    route("admin", 30, hosts=["admin.example.com"]),
    route("admin-api", 31, hosts=["admin.example.com"], paths=["/api"]),
    route("tenant-api", 32, hosts=["*.example.com"], paths=["/api"]),
    route("shop", 33, hosts=["shop.*"], paths=["/"]),
    route("secure-port", 34, hosts=["secure.example.com:8443"]),
    route("catalog", 40, paths=["/catalog"]),
    route("catalog-versioned", 41, paths=["/catalog"], headers={"x-version": ["~*^v[0-9]+$"]}),
    route("files", 50, paths=["/files", "/files/private/archive", r"~/files/\d+\.bin$"]),
    route("files-private", 51, paths=["/files/private"]),
    route("tls", 60, paths=["/tls"], snis=["tls.example.com", "*.tls.example.com"]),
    route("legacy-off", 70, paths=["/legacy"], service={"id": "svc-off"}),
    route("legacy", 71, paths=["/leg"]),
    route("health-get", 80, paths=["/health"], methods=["GET", "HEAD"]),
    route("health", 81, paths=["/health"]),
    route("tie-low", 90, paths=["/tie"]),
    route("tie-high", 91, paths=["/tie"]),
]

ROUTER = Router(ROUTES, SERVICES)

# (id, request fields, expected route name)
CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("prefix exact", {"path": "/orders"}, "orders"),
    ("prefix below", {"path": "/orders/42"}, "orders"),
    ("prefix is plain string", {"path": "/ordersfoo"}, "orders"),
    ("longer prefix", {"path": "/orders/v2/7"}, "orders-v2"),
    ("method adds a category", {"path": "/orders/42", "method": "POST"}, "orders-post"),
    ("category beats length", {"path": "/orders/v2", "method": "POST"}, "orders-post"),
    ("header adds a category", {"path": "/orders/1", "headers": {"x-beta": "on"}}, "orders-beta"),
    ("header value case", {"path": "/orders/1", "headers": {"X-Beta": "YES"}}, "orders-beta"),
    ("header value mismatch", {"path": "/orders/1", "headers": {"x-beta": "off"}}, "orders"),
    ("more headers", {"path": "/orders", "headers": {"x-beta": "on", "x-region": "EU"}}, "orders-beta-eu"),
    (
        "header count beats methods",
        {"path": "/orders", "method": "POST", "headers": {"x-beta": "on"}},
        "orders-beta",
    ),
    (
        "second header only",
        {"path": "/orders", "headers": {"x-beta": "yes", "x-region": "eu"}},
        "orders-beta",
    ),
    ("regex", {"path": "/users/42"}, "user-by-id"),
    ("regex start-anchored only", {"path": "/users/42x"}, "user-by-id"),
    ("regex_priority", {"path": "/users/42/profile"}, "user-profile"),
    ("regex miss falls to prefix", {"path": "/users/abc"}, "users"),
    ("prefix equal to path", {"path": "/users"}, "users"),
    ("regex not found mid-path", {"path": "/api/users/42"}, None),
    ("host only", {"host": "admin.example.com", "path": "/"}, "admin"),
    ("host only any path", {"host": "admin.example.com", "path": "/x/y"}, "admin"),
    ("plain host beats wildcard", {"host": "admin.example.com", "path": "/api/x"}, "admin-api"),
    ("host case and port", {"host": "ADMIN.Example.com:8000", "path": "/api"}, "admin-api"),
    ("suffix wildcard", {"host": "acme.example.com", "path": "/api/v1"}, "tenant-api"),
    ("suffix wildcard deep", {"host": "a.b.example.com", "path": "/api"}, "tenant-api"),
    ("suffix wildcard needs a label", {"host": "example.com", "path": "/api"}, None),
    ("wildcard host path miss", {"host": "acme.example.com", "path": "/other"}, None),
    ("host beats no-host route", {"host": "admin.example.com", "path": "/orders"}, "admin"),
    ("prefix wildcard", {"host": "shop.io", "path": "/cart"}, "shop"),
    ("prefix wildcard long tail", {"host": "shop.co.uk", "path": "/"}, "shop"),
    ("prefix wildcard is not suffix", {"host": "myshop.io", "path": "/"}, None),
    ("host port matches listener", {"host": "secure.example.com", "port": 8443}, "secure-port"),
    ("host port other listener", {"host": "secure.example.com", "port": 8000, "path": "/x"}, None),
    ("header regex", {"path": "/catalog/1", "headers": {"x-version": "V3"}}, "catalog-versioned"),
    ("header regex miss", {"path": "/catalog/1", "headers": {"x-version": "v3-rc"}}, "catalog"),
    ("header absent", {"path": "/catalog"}, "catalog"),
    ("split regex part", {"path": "/files/12.bin"}, "files"),
    ("split regex part anchored end", {"path": "/files/12.bin.txt"}, "files"),
    ("split long prefix part", {"path": "/files/private/archive/2020"}, "files"),
    ("other route between parts", {"path": "/files/private/x"}, "files-private"),
    ("split short prefix part", {"path": "/files/public"}, "files"),
    ("sni ignored on http", {"path": "/tls"}, "tls"),
    ("sni on https", {"path": "/tls", "scheme": "https", "sni": "tls.example.com"}, "tls"),
    ("wildcard sni", {"path": "/tls/x", "scheme": "https", "sni": "a.tls.example.com"}, "tls"),
    ("sni mismatch", {"path": "/tls", "scheme": "https", "sni": "other.com"}, None),
    ("disabled service skipped", {"path": "/legacy/1"}, "legacy"),
    ("methods GET", {"path": "/health"}, "health-get"),
    ("methods HEAD", {"path": "/health", "method": "HEAD"}, "health-get"),
    ("methods other", {"path": "/health", "method": "DELETE"}, "health"),
    ("methods case-sensitive", {"path": "/health", "method": "get"}, "health"),
    ("id tie-break", {"path": "/tie"}, "tie-high"),
    ("nothing", {"path": "/nothing"}, None),
]


@pytest.mark.parametrize(("request_fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_realistic_route_set(request_fields: dict[str, Any], expected: str | None) -> None:
    assert name_of(match(ROUTER, **request_fields)) == expected


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(("request_fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_same_answers_without_the_cache(request_fields: dict[str, Any], expected: str | None) -> None:
    router = Router(ROUTES, SERVICES, cache_size=0)
    assert name_of(match(router, **request_fields)) == expected
