"""``fake_kong``: the real PDK over a request built in a test, for one phase handler.

Nothing is faked but the surroundings: the request is a real
:class:`~host.context.Context` filled the way the proxy fills one, the PDK is the
gateway's own (phase checks on, ``kong.response.exit`` records the response exactly as
in the gateway), and the handler is called the way the phase runner calls it.  What the
handler did is read back from the context::

    def test_refuses_without_key(fake_kong):
        fk = fake_kong(headers={"x-other": "1"})
        fk.run(my_plugin.Plugin(), "access", {"key_name": "apikey"})
        assert fk.exited and fk.status == 401
        assert fk.body == {"message": "No API key found in request"}
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any
from urllib.parse import urlencode

import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from host.context import Context, reset_context, use_context
from pdk.errors import ExitSignal
from pdk.phases import Phase

__all__ = ["FakeKong", "FakeSnapshot"]


class FakeSnapshot:
    """The configuration lookups the PDK makes: consumers (by id, username, custom_id),
    upstream names and credentials given to :class:`FakeKong`."""

    def __init__(self, consumers: list[dict[str, Any]], upstreams: list[str]) -> None:
        self.consumers = consumers
        self.upstreams = set(upstreams)
        self.hash = "0" * 32

    def has_upstream(self, name: str) -> bool:
        return name in self.upstreams

    def consumer_by_id(self, consumer_id: str) -> dict[str, Any] | None:
        return next((c for c in self.consumers if c.get("id") == consumer_id), None)

    def consumer_by_username(self, username: str) -> dict[str, Any] | None:
        return next((c for c in self.consumers if c.get("username") == username), None)

    def consumer_by_custom_id(self, custom_id: str) -> dict[str, Any] | None:
        return next((c for c in self.consumers if c.get("custom_id") == custom_id), None)

    def credentials(self, entity: str) -> list[dict[str, Any]]:
        return []


class FakeKong:
    """One request, ready for a handler: ``kong`` (the PDK), ``ctx`` and the outcome
    (``exited``, ``status``, ``body``, ``response_headers``, ``service_headers``,
    ``shared``)."""

    def __init__(
        self,
        *,
        method: str = "GET",
        path: str = "/",
        query: dict[str, Any] | str | None = None,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        body: bytes | str | None = None,
        client_ip: str = "127.0.0.1",
        scheme: str = "http",
        host: str = "example.test",
        port: int = 8000,
        consumer: dict[str, Any] | None = None,
        consumers: list[dict[str, Any]] | None = None,
        route: dict[str, Any] | None = None,
        service: dict[str, Any] | None = None,
        settings: Any = None,
    ) -> None:
        from host.settings import Settings
        from pdk import kong

        self.kong = kong
        known = list(consumers or []) + ([consumer] if consumer else [])
        ctx = Context(snapshot=FakeSnapshot(known, []), settings=settings or Settings())  # type: ignore[arg-type]
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if not any(k.lower() == "host" for k, _ in pairs):
            pairs.insert(0, ("Host", host))
        raw_query = query if isinstance(query, str) else urlencode(query or {}, doseq=True)
        ctx.method, ctx.scheme, ctx.host, ctx.port = method.upper(), scheme, host, port
        ctx.path = ctx.raw_path = path
        ctx.raw_query = raw_query
        ctx.request_uri = path + (f"?{raw_query}" if raw_query else "")
        ctx.client_ip = ctx.peer_ip = client_ip
        ctx.peer_port = 40000
        ctx.request_id = "0" * 32
        ctx.headers = CIMultiDictProxy(CIMultiDict(pairs))
        ctx.body = body.encode() if isinstance(body, str) else (body if body is not None else b"")
        ctx.consumer = consumer
        ctx.route = route or {"id": "00000000-0000-4000-8000-000000000001", "name": "test", "paths": ["/"]}
        ctx.service = service or {
            "id": "00000000-0000-4000-8000-000000000002",
            "name": "test",
            "host": "upstream.test",
            "port": 80,
            "protocol": "http",
            "path": None,
        }
        self.ctx = ctx

    # -- running a handler ----------------------------------------------------------------
    def run(self, plugin: Any, phase: str, conf: dict[str, Any] | None = None) -> Any:
        """Call ``plugin``'s handler for ``phase`` with ``conf`` in this request, as the
        runner does: ``kong.response.exit`` ends the handler.  An async handler is run on
        a private event loop (use :meth:`arun` inside an async test).  Returns what the
        handler returned (None after an exit)."""
        handler = self._prepare(plugin, phase)
        if inspect.iscoroutinefunction(handler):
            return asyncio.run(self._await(handler, conf))
        token = use_context(self.ctx)
        try:
            return handler(self.kong, dict(conf or {}))
        except ExitSignal:
            return None
        finally:
            reset_context(token)

    async def arun(self, plugin: Any, phase: str, conf: dict[str, Any] | None = None) -> Any:
        """:meth:`run` for async tests (sync handlers are called directly)."""
        handler = self._prepare(plugin, phase)
        if inspect.iscoroutinefunction(handler):
            return await self._await(handler, conf)
        return self.run(plugin, phase, conf)

    def _prepare(self, plugin: Any, phase: str) -> Any:
        handler = getattr(plugin, phase, None)
        if handler is None:
            raise AttributeError(f"{plugin!r} has no {phase!r} handler")
        self.ctx.phase = Phase[phase]
        self.ctx.plugin_name = getattr(plugin, "NAME", None) or getattr(
            plugin, "__name__", type(plugin).__name__
        )
        return handler

    async def _await(self, handler: Any, conf: dict[str, Any] | None) -> Any:
        token = use_context(self.ctx)
        try:
            return await handler(self.kong, dict(conf or {}))
        except ExitSignal:
            return None
        finally:
            reset_context(token)

    # -- the outcome ------------------------------------------------------------------------
    @property
    def exited(self) -> bool:
        """Whether the handler ended the request (``kong.response.exit``/``error``)."""
        return bool(self.ctx.exited)

    @property
    def status(self) -> int | None:
        """The status the client would get (set by exit or ``kong.response.set_status``)."""
        return self.ctx.status

    @property
    def body(self) -> Any:
        """The exit body: decoded JSON when it is JSON, else bytes (None without exit)."""
        raw = self.ctx.exit_body
        if raw is None:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw

    @property
    def response_headers(self) -> CIMultiDict[str]:
        """Headers set for the client's response."""
        return self.ctx.response_headers

    @property
    def service_headers(self) -> CIMultiDict[str]:
        """The request headers the upstream would get (after the handler's edits)."""
        return self.ctx.upstream_headers

    @property
    def shared(self) -> dict[str, Any]:
        """``kong.ctx.shared`` of this request."""
        return self.ctx.shared
