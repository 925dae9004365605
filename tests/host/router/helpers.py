"""Builders shared by the router tests: Kong-shaped routes and a compact match call."""

from __future__ import annotations

from typing import Any

from multidict import CIMultiDict

from host.router import RouteMatch, Router

SERVICES: dict[str, dict[str, Any]] = {
    "svc": {"id": "svc", "name": "svc", "protocol": "http", "host": "upstream", "port": 80, "path": None},
    "svc-api": {
        "id": "svc-api",
        "name": "svc-api",
        "protocol": "http",
        "host": "upstream",
        "port": 80,
        "path": "/api",
    },
    "svc-off": {
        "id": "svc-off",
        "name": "svc-off",
        "protocol": "http",
        "host": "upstream",
        "port": 80,
        "path": None,
        "enabled": False,
    },
}


def uid(n: int) -> str:
    """A valid route UUID whose order follows ``n``."""
    return f"00000000-0000-4000-8000-{n:012d}"


def route(name: str, n: int, **fields: Any) -> dict[str, Any]:
    """A validated route dict with Kong's defaults; ``fields`` override them."""
    data: dict[str, Any] = {
        "id": uid(n),
        "name": name,
        "paths": None,
        "hosts": None,
        "methods": None,
        "headers": None,
        "snis": None,
        "strip_path": True,
        "preserve_host": False,
        "regex_priority": 0,
        "protocols": ["http", "https"],
        "https_redirect_status_code": 426,
        "service": {"id": "svc"},
    }
    data.update(fields)
    return data


def match(
    router: Router,
    path: str = "/",
    *,
    method: str = "GET",
    host: str = "example.org",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    port: int = 8000,
    scheme: str = "http",
    sni: str | None = None,
) -> RouteMatch | None:
    """Call ``router.match`` with defaults for everything the test does not care about."""
    return router.match(method, host, path, CIMultiDict(headers or []), port, scheme, sni)


def name_of(result: RouteMatch | None) -> str | None:
    """The matched route's name, or None."""
    return None if result is None else result.route["name"]
