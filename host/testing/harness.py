"""A real gateway and a real upstream for a plugin's tests, in the test's event loop."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from host.testing.processes import SpawnedGateway

__all__ = [
    "GatewayClient",
    "GatewayHarness",
    "MockUpstream",
    "Response",
    "RunningTestGateway",
    "build_config",
]

#: an aiohttp handler: what a test's upstream route answers
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Response:
    """What a client got: ``status``, ``headers`` (case-insensitive), ``body`` bytes."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class UpstreamRequest:
    """A request the mock upstream received."""

    method: str
    path: str
    query: str
    headers: CIMultiDictProxy[str]
    body: bytes


@dataclass
class MockUpstream:
    """An echo server: answers every request with JSON describing it (method, path,
    query, headers, body) and records it in ``requests``; ``/status/<code>`` answers
    with that status.  :meth:`route` makes paths answer as a test needs instead."""

    url: str = ""
    requests: list[UpstreamRequest] = field(default_factory=list)
    routes: dict[str, Handler] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    def route(self, prefix: str, handler: Handler) -> None:
        """Answer the requests whose path starts with ``prefix`` with ``handler`` (an
        aiohttp handler, ``async def handler(request) -> web.Response``) instead of the
        echo; the longest matching prefix wins.  Callable before or after ``start``;
        the requests are recorded in ``requests`` either way."""
        self.routes[prefix] = handler

    async def start(self) -> MockUpstream:
        from host.demo_upstream import make_app

        app = make_app()

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            body = await request.read()
            self.requests.append(
                UpstreamRequest(request.method, request.path, request.query_string, request.headers, body)
            )
            for prefix in sorted(self.routes, key=len, reverse=True):
                if request.path.startswith(prefix):
                    return await self.routes[prefix](request)
            return await handler(request)

        app.middlewares.append(record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def build_config(
    upstream_url: str,
    plugins: list[dict[str, Any]] | None = None,
    routes: list[dict[str, Any]] | None = None,
    consumers: list[dict[str, Any]] | None = None,
    **entities: Any,
) -> dict[str, Any]:
    """A declarative config: one service ``test`` pointing at ``upstream_url`` with
    ``routes`` (default: one route ``test`` on ``/``), top-level ``plugins`` (global
    unless they name a ``route``/``service``/``consumer``), ``consumers`` and any other
    top-level entity list (``keyauth_credentials=[...]``)."""
    return {
        "_format_version": "3.0",
        "services": [
            {"name": "test", "url": upstream_url, "routes": routes or [{"name": "test", "paths": ["/"]}]}
        ],
        "consumers": consumers or [],
        "plugins": plugins or [],
        **entities,
    }


class GatewayClient:
    """The client side of a gateway under test: ``url``, ``request()``/``get()``/``post()``;
    ``status_url``/``status()``/``metrics()`` when the status listener is open,
    ``admin_url``/``admin()`` when the Admin API is; ``session`` is the client (aiohttp)
    the helpers use."""

    def __init__(
        self, session: aiohttp.ClientSession, proxy_port: int, status_port: int | None, admin_port: int | None
    ) -> None:
        self.url = f"http://127.0.0.1:{proxy_port}"
        self.status_url = f"http://127.0.0.1:{status_port}" if status_port else None
        self.admin_url = f"http://127.0.0.1:{admin_port}" if admin_port else None
        self.session = session
        self._session = session

    async def _send(self, method: str, url: str, **kwargs: Any) -> Response:
        async with self._session.request(method, url, allow_redirects=False, **kwargs) as resp:
            return Response(resp.status, CIMultiDictProxy(CIMultiDict(resp.headers)), await resp.read())

    async def status(self, path: str = "/status") -> Any:
        """``GET /status`` (or another path of the status listener) decoded as JSON."""
        if self.status_url is None:
            raise RuntimeError("no status listener: start the gateway with status=True")
        return (await self._send("GET", self.status_url + path)).json()

    async def metrics(self) -> Response:
        """``GET /metrics`` of the status listener: Prometheus' text format in ``text``
        (``prometheus_client.parser.text_string_to_metric_families`` reads it)."""
        if self.status_url is None:
            raise RuntimeError("no status listener: start the gateway with status=True")
        return await self._send("GET", self.status_url + "/metrics")

    async def admin(self, method: str, path: str, **kwargs: Any) -> Response:
        """A request to the Admin API (``admin_url``)."""
        if self.admin_url is None:
            raise RuntimeError("no Admin API: start the gateway with admin=True")
        return await self._send(method, self.admin_url + path, **kwargs)

    async def request(self, method: str, path: str = "/", **kwargs: Any) -> Response:
        """Send a request through the gateway (aiohttp's keyword arguments: headers, json,
        data, params); redirects are not followed and bodies are not decompressed."""
        return await self._send(method, self.url + path, **kwargs)

    async def get(self, path: str = "/", **kwargs: Any) -> Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str = "/", **kwargs: Any) -> Response:
        return await self.request("POST", path, **kwargs)


class RunningTestGateway(GatewayClient):
    """A gateway started in the test's event loop: the :class:`GatewayClient` helpers,
    ``reload(config)``, and ``gateway`` (the :class:`host.gateway.Gateway` itself)."""

    def __init__(self, gateway: Any, session: aiohttp.ClientSession) -> None:
        super().__init__(session, gateway.proxy_port, gateway.status_port, gateway.admin_port)
        self.gateway = gateway

    async def reload(self, config: dict[str, Any]) -> None:
        """Validate ``config`` and swap it in, as ``moongate reload`` does (raises ConfigError)."""
        from host.config import load_data

        await self.gateway.apply(load_data(config, self.gateway.registry, source="test config"))


class GatewayHarness:
    """Starts real gateways for a test (in its event loop with :meth:`start`, as
    processes with :meth:`spawn`) and stops them after it."""

    def __init__(self, upstream: MockUpstream, plugins_dirs: list[str]) -> None:
        self.upstream = upstream
        self.plugins_dirs = plugins_dirs
        self._started: list[Any] = []
        self._spawned: list[SpawnedGateway] = []
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The client session of the gateways' helpers (made on first use, closed after
        the test): it does not follow redirects or decompress bodies."""
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        return self._session

    async def start(
        self,
        config: dict[str, Any] | None = None,
        *,
        plugins: list[dict[str, Any]] | None = None,
        routes: list[dict[str, Any]] | None = None,
        consumers: list[dict[str, Any]] | None = None,
        plugins_dirs: list[str | Path] | None = None,
        settings: dict[str, Any] | None = None,
        status: bool = False,
        admin: bool = False,
        **entities: Any,
    ) -> RunningTestGateway:
        """Start a gateway on ``config`` (a whole declarative dict), or on one built with
        :func:`build_config` from the other arguments; an invalid config raises
        ``host.config.ConfigError`` with every message.  ``settings``: any Kong setting
        (``{"nginx_worker_processes": "1"}``); ``status``: open the status listener
        (``/status``, ``/metrics``); ``admin``: run the Admin API over an in-memory DB-less
        store holding ``config``."""
        from host.config import load_data
        from host.gateway import Gateway, build_registry
        from host.settings import Settings

        if config is None:
            config = build_config(self.upstream.url, plugins, routes, consumers, **entities)
        dirs = [str(d) for d in (plugins_dirs if plugins_dirs is not None else self.plugins_dirs)]
        options = {
            "proxy_listen": "127.0.0.1:0",
            "status_listen": "127.0.0.1:0" if status else "off",
            "admin_listen": "127.0.0.1:0" if admin else "off",
        }
        gw_settings = Settings(plugins_dirs=dirs, **{**options, **(settings or {})})
        registry = build_registry(gw_settings)
        loaded = load_data(config, registry, source="test config")
        store = None
        if admin:
            from host.store import DeclarativeStore
            from host.store.boot import storage_document

            store = DeclarativeStore()
            store.replace(storage_document(loaded))
        gateway = Gateway(gw_settings, registry, loaded, store=store)
        await gateway.start()
        self._started.append(gateway)
        return RunningTestGateway(gateway, self.session)

    async def spawn(
        self,
        config: dict[str, Any] | None = None,
        *,
        plugins: list[dict[str, Any]] | None = None,
        routes: list[dict[str, Any]] | None = None,
        consumers: list[dict[str, Any]] | None = None,
        plugins_dirs: list[str | Path] | None = None,
        settings: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        workers: int = 1,
        admin: bool = False,
        **entities: Any,
    ) -> SpawnedGateway:
        """Start a gateway as a separate ``moongate start`` process (``workers`` worker
        processes, status listener open, ``admin`` for the Admin API) with the config
        :meth:`start` would use, ``settings`` as ``KONG_*`` variables and ``env`` added
        to its environment; wait until it is ready.  Returns a
        :class:`host.testing.processes.SpawnedGateway`, stopped after the test."""
        from host.testing.processes import spawn_gateway

        if config is None:
            config = build_config(self.upstream.url, plugins, routes, consumers, **entities)
        dirs = [str(d) for d in (plugins_dirs if plugins_dirs is not None else self.plugins_dirs)]
        spawned = await spawn_gateway(
            self.session, config, dirs, settings=settings, env=env, workers=workers, admin=admin
        )
        self._spawned.append(spawned)
        return spawned

    async def stop(self) -> None:
        """Stop every gateway started so far (the fixture calls it after the test; a test
        may call it first, e.g. to check what a plugin does at shutdown)."""
        started, self._started = self._started, []
        spawned, self._spawned = self._spawned, []
        for gateway in started:
            await gateway.stop(grace=1.0)
        for process in spawned:
            await process.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None
