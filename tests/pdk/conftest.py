"""Helpers for PDK tests: a request context built the way the proxy builds one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from host.context import Context, reset_context, use_context
from host.settings import Settings
from pdk.phases import Phase

NODE_ID = "6e2b8c6c-1b7d-4c8e-9a43-6c0f3f6f2d11"
CONSUMER = {"id": "7bc5e0c5-4a3e-4f0f-9d7a-0f6a8b3a1c2d", "username": "alice", "custom_id": "a-1"}


class FakeSnapshot:
    """The snapshot lookups the PDK uses."""

    def __init__(
        self, upstreams: tuple[str, ...] = ("billing",), consumers: tuple[dict[str, Any], ...] = (CONSUMER,)
    ):
        self.upstreams = set(upstreams)
        self.consumers = list(consumers)

    def has_upstream(self, name: str) -> bool:
        return name in self.upstreams

    def consumer_by_id(self, consumer_id: str) -> dict[str, Any] | None:
        return next((c for c in self.consumers if c["id"] == consumer_id), None)

    def consumer_by_username(self, username: str) -> dict[str, Any] | None:
        return next((c for c in self.consumers if c.get("username") == username), None)


def make_context(
    phase: Phase = Phase.access,
    headers: list[tuple[str, str]] | dict[str, str] | None = None,
    trusted_ips: list[str] | None = None,
    **fields: Any,
) -> Context:
    """A context as the proxy fills it for ``GET http://example.com:8000/``."""
    settings = Settings(trusted_ips=trusted_ips or [], node_id=NODE_ID, hostname="gw-1")
    ctx = Context(snapshot=FakeSnapshot(), settings=settings)  # type: ignore[arg-type]
    ctx.phase = phase
    ctx.request_id = "0123456789abcdef0123456789abcdef"
    ctx.host = "example.com"
    ctx.port = 8000
    ctx.peer_ip = "10.0.0.1"
    ctx.client_ip = "10.0.0.1"
    ctx.peer_port = 40000
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [("Host", "example.com")])
    ctx.headers = CIMultiDictProxy(CIMultiDict(pairs))
    ctx.upstream_headers = CIMultiDict(pairs)
    for name, value in fields.items():
        setattr(ctx, name, value)
    return ctx


@pytest.fixture
def use() -> Iterator[Callable[..., Context]]:
    """``use(**fields)`` builds a context (see :func:`make_context`) and makes it current."""
    tokens = []

    def activate(ctx: Context | None = None, **kwargs: Any) -> Context:
        ctx = ctx if ctx is not None else make_context(**kwargs)
        tokens.append(use_context(ctx))
        return ctx

    yield activate
    for token in reversed(tokens):
        reset_context(token)


@pytest.fixture
def kong() -> Any:
    from pdk import kong as kong_object

    return kong_object
