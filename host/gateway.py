"""Assembling a running gateway: plugins, config snapshot, listeners, reload, shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from host.balancer.health import close_health
from host.config import ConfigError, load_file
from host.config.model import DeclarativeConfig
from host.config.snapshot import Snapshot
from host.context import IDLE_CONTEXT
from host.isolated import python_isolation
from host.lua.loader import discover_lua_plugins
from host.lua.runtime import LuaHost
from host.lua.trust import Placement, Sandbox
from host.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from host.metrics import GatewayMetrics
from host.plugins.breaker import Breaker
from host.plugins.host_hooks import HostHooks, find_extensions
from host.plugins.python_loader import discover_python_plugins
from host.plugins.runner import PhaseRunner
from host.plugins.spec import PluginRegistry
from host.plugins.trace import trace_registry
from host.proxy.handler import ProxyHandler
from host.proxy.http_errors import ProxyServer
from host.proxy.tls import TLSTerminator, parse_listeners
from host.proxy.upstream_client import UpstreamClient
from host.settings import Settings, parse_listen
from host.store import Store
from host.tracing import instrument_registry
from pdk._settings import set_default_settings
from pdk.nginx import STATS
from pdk.phases import Phase

if TYPE_CHECKING:
    from host.admin import AdminServer

__all__ = ["Gateway", "build_registry", "empty_config"]

log = logging.getLogger("moongate.gateway")


def build_registry(settings: Settings) -> PluginRegistry:
    """Every plugin this gateway can run, from the bundled set, entry points and plugin dirs."""
    bundled = "bundled" in settings.plugins and "off" not in settings.plugins
    specs, failures = discover_python_plugins(
        settings.plugins_dirs, bundled=bundled, isolate=python_isolation(settings)
    )
    registry = PluginRegistry()
    registry.lua = LuaHost(settings)
    # each plugin at its trust level: the worker's runtime, or a sandboxed one of its own
    placement = Placement(settings, registry.lua)
    lua_specs, lua_failures = discover_lua_plugins(
        registry.lua,
        settings.plugins_dirs,
        bundled=bundled,
        untrusted_dirs=settings.untrusted_plugins_dirs,
        load=placement.load,
    )
    specs += lua_specs
    failures.update(lua_failures)
    for spec in specs:
        try:
            registry.add(spec)
        except Exception as exc:  # noqa: BLE001 - duplicate names are reported, not fatal
            failures[spec.name] = str(exc)
    registry = _with_plugin_entities(registry, failures)
    _share_entities(registry)
    if settings.trace_plugins:  # --trace-plugins: a log line per handler call
        trace_registry(registry)
    instrument_registry(registry, settings)  # tracing_instrumentations plugin_*: spans (host/tracing.py)
    # host hooks (host/plugins/host_hooks.py): plugin modules and host-only extension modules
    registry.host_hooks = HostHooks(find_extensions(registry, settings.plugins_dirs, failures))
    failures.update(registry.host_hooks.errors)
    registry.failures.update(failures)
    for reason in failures.values():
        log.error("plugin failed to load: %s", reason)
    return registry


def _with_plugin_entities(registry: PluginRegistry, failures: dict[str, str]) -> PluginRegistry:
    """The entities Lua plugins declare in daos.lua, attached to their specs; a plugin
    whose daos.lua fails is left out (and reported) like one whose handler fails."""
    from host.config.lua_daos import load_plugin_entities

    failed = load_plugin_entities(registry)
    if not failed:
        return registry
    failures.update({name: str(exc) for name, exc in failed.items()})
    kept = PluginRegistry(
        spec for spec in (registry.get(n) for n in registry.names()) if spec and spec.name not in failed
    )
    kept.lua = registry.lua
    return kept


def sandboxed_plugins(registry: PluginRegistry) -> list[Sandbox]:
    """The sandboxed runtimes of ``registry``'s Lua plugins (each owned by a Sandbox)."""
    boxes = (spec.extra.get("sandbox") for spec in registry)
    return list({id(box): box for box in boxes if isinstance(box, Sandbox)}.values())


def _share_entities(registry: PluginRegistry) -> None:
    """Sandboxed runtimes serve kong.db with the entities the worker's runtime accepted."""
    from host.config.lua_daos import DECLARED_KEY

    if registry.lua is None:
        return
    declared = registry.lua.state.get(DECLARED_KEY)
    for box in sandboxed_plugins(registry):
        box.share_state({DECLARED_KEY: list(declared or ())})


def empty_config(source: str = "<empty>") -> DeclarativeConfig:
    return DeclarativeConfig(
        source=source,
        services=[],
        routes=[],
        consumers=[],
        plugins=[],
        upstreams=[],
        targets=[],
        certificates=[],
        snis=[],
        ca_certificates=[],
        credentials={},
    )


class Gateway:
    """One worker: the proxy and status listeners over an atomically swapped snapshot."""

    #: set by the supervisor (host/workers/supervisor.py) in each worker it forks: the worker's
    #: index, and where the workers publish their status figures; None in a single process
    worker_id: int | None = None
    status_dir: Path | None = None

    def __init__(
        self,
        settings: Settings,
        registry: PluginRegistry,
        config: DeclarativeConfig,
        store: Store | None = None,
    ) -> None:
        """``store``: where the configuration is kept (host/store/); with one, ``start`` also
        runs the Admin API on ``admin_listen`` and follows the store's changes."""
        from pdk import kong

        if not str(settings.nginx_worker_processes).isdigit():  # ngx.worker.count(): alone
            settings.nginx_worker_processes = "1"
        self.settings = settings
        self.registry = registry
        self.kong = kong
        set_default_settings(settings)
        self.snapshot = Snapshot(config, registry)
        IDLE_CONTEXT.snapshot = self.snapshot
        self.client = UpstreamClient(
            pool_size=settings.upstream_keepalive_pool_size,
            idle_timeout=settings.upstream_keepalive_idle_timeout,
        )
        # fault accounting: per-instance circuit breakers, this worker's metrics, the
        # wall-clock budget of handlers that wait
        self.breaker = Breaker.from_settings(settings)
        self.metrics = GatewayMetrics(self.breaker)
        self.runner = PhaseRunner(
            kong,
            breaker=self.breaker,
            metrics=self.metrics,
            phase_timeout=settings.plugin_phase_timeout / 1000,
        )
        self.handler = ProxyHandler(self.snapshot, settings, self.client, self.runner)
        #: the host hooks (startup, shutdown, register_admin_routes, status_extra) of the plugins
        self.hooks = HostHooks.from_registry(registry, settings.plugins_dirs)
        self.init_errors: dict[str, str] = {}
        self._reload_lock = asyncio.Lock()  # reloads apply one at a time, in the order asked
        self._servers: list[asyncio.base_events.Server] = []
        self._runners: list[web.AppRunner] = []
        self._sweeper: asyncio.Task[None] | None = None
        self.proxy_port = 0
        self.status_port = 0
        self.store = store
        self.admin: AdminServer | None = None
        self.admin_port = 0

    # -- lifecycle ------------------------------------------------------------------------
    #: the port of the first ``ssl`` proxy listener (0: none); ``proxy_port`` is the first plain one's
    proxy_ssl_port = 0
    #: what the ``ssl`` proxy listeners share (certificates, SNI callback, their server)
    _tls: TLSTerminator | None = None

    async def start(self) -> None:
        await self._init_worker()
        await self._configure()
        if self.store is not None:  # Admin API listener and store poller (host/admin/)
            from host.admin import AdminServer

            self.admin = AdminServer(self, self.store)
            await self.admin.start()
            self.admin_port = self.admin.port
        loop = asyncio.get_running_loop()
        options: dict[str, Any] = {
            "access_log": None,
            "handler_cancellation": False,
            "max_line_size": self.settings.max_request_header_size,
            "max_field_size": self.settings.max_request_header_size,
            "max_headers": max(self.settings.lua_max_req_headers, 100) + 28,
            # request bodies pass as the client sent them (a gzip body stays gzip), as in Kong
            "auto_decompress": False,
        }
        listeners = parse_listeners(self.settings.proxy_listen)
        if any(listener.ssl for listener in listeners):  # certificates load before any socket opens
            self._tls = TLSTerminator(self.settings, self.handler, self.kong, **options)
        server = ProxyServer(self.handler, **options)
        self._proxy_server = server
        for listener in listeners:
            factory: Any = self._tls.protocol if listener.ssl and self._tls is not None else server
            srv = await loop.create_server(
                _counted(factory),
                listener.host,
                listener.port,
                reuse_port=hasattr(socket, "SO_REUSEPORT"),
                backlog=listener.backlog,
            )
            self._servers.append(srv)
            port = srv.sockets[0].getsockname()[1]
            if listener.ssl and not self.proxy_ssl_port:
                self.proxy_ssl_port = port
            elif not listener.ssl and not self.proxy_port:
                self.proxy_port = port
        if self.settings.status_listen and self.settings.status_listen != "off":
            shost, sport = parse_listen(self.settings.status_listen)
            runner = web.AppRunner(self._status_app(), access_log=None)
            await runner.setup()
            # every worker of a supervisor binds the status port too (any of them answers)
            site = web.TCPSite(runner, shost, sport, reuse_port=self.worker_id is not None or None)
            await site.start()
            self._runners.append(runner)
            self.status_port = runner.addresses[0][1]
        self._sweeper = loop.create_task(self._sweep())
        await self.hooks.startup(self)  # host hook: the listeners are open

        # a supervisor says "moongate started" itself once all its workers are up
        log.log(
            25,  # notice: shown at the default level
            "moongate started" if self.worker_id is None else "moongate worker started",
            extra={
                "proxy_port": self.proxy_port,
                "proxy_ssl_port": self.proxy_ssl_port,
                "status_port": self.status_port,
                "admin_port": self.admin_port,
                "pid": os.getpid(),
                **({} if self.worker_id is None else {"worker_id": self.worker_id}),
            },
        )

    @staticmethod
    def tune_gc() -> None:
        """For a worker process: what is loaded at start lives as long as the worker, so keep
        it out of the collector's way, and collect the young generation less often (each
        request allocates a few dozen short-lived objects)."""
        gc.collect()
        gc.freeze()
        gc.set_threshold(20000, 50, 100)

    async def stop(self, grace: float = 10.0) -> None:
        """Graceful shutdown: stop accepting (the listening sockets close, so the kernel hands
        new connections to the other workers), close idle keep-alive connections, let
        in-flight requests and their log handlers finish within ``grace`` seconds in all
        (requests still running then are cancelled), close everything."""
        deadline = time.monotonic() + grace
        for srv in self._servers:
            srv.close()
        if getattr(self, "_proxy_server", None) is not None:
            self._proxy_server.pre_shutdown()  # closes idle keep-alive connections at once
            shutdowns = [self._proxy_server.shutdown(grace)]
            if self._tls is not None:
                shutdowns.append(self._tls.shutdown(grace))
            await asyncio.gather(*shutdowns)
        if self.handler.log_tasks:
            left = max(0.1, deadline - time.monotonic())
            await asyncio.wait(list(self.handler.log_tasks), timeout=left)
        await self.hooks.shutdown(self)  # host hook: nothing is served any more
        if self.admin is not None:
            await self.admin.stop()
        for runner in self._runners:
            await runner.cleanup()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.runner.watchdog is not None:
            self.runner.watchdog.close()
        if self.registry.lua is not None:  # Lua timers (premature), resty.http/redis pools
            await self.registry.lua.close()
        for box in sandboxed_plugins(self.registry):
            await box.close()
        await self.client.close()
        await close_health(self.registry)  # the upstreams' active health probes
        IDLE_CONTEXT.snapshot = None
        set_default_settings(None)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(10)
            self.client.sweep()

    # -- plugin lifecycle phases -------------------------------------------------------------
    async def _init_worker(self) -> None:
        IDLE_CONTEXT.phase = Phase.init_worker
        for spec in self.registry:
            handler = spec.handlers.get("init_worker")
            if handler is None:
                continue
            try:
                result = handler(self.kong)
                if "init_worker" in spec.async_phases and result is not None:
                    await result
            except Exception as exc:  # noqa: BLE001 - reported, the gateway still starts
                self.init_errors[spec.name] = repr(exc)
                log.error(
                    "plugin '%s' failed in init_worker: %r", spec.name, exc, extra={"plugin": spec.name}
                )

    async def _configure(self) -> None:
        IDLE_CONTEXT.phase = Phase.configure
        iterator = self.snapshot.plugins
        for spec in self.registry:
            handler = spec.handlers.get("configure")
            if handler is None:
                continue
            configs = iterator.configs_of(spec.name) or None
            try:
                result = handler(self.kong, configs)
                if "configure" in spec.async_phases and result is not None:
                    await result
            except Exception as exc:  # noqa: BLE001
                log.error("plugin '%s' failed in configure: %r", spec.name, exc, extra={"plugin": spec.name})
        IDLE_CONTEXT.phase = Phase.init_worker

    # -- reload ------------------------------------------------------------------------------
    async def apply(self, config: DeclarativeConfig) -> None:
        """Build a complete new snapshot (router, plugin plans, balancers: an error leaves the
        running one), swap it in with one assignment (requests in flight keep the one they
        started with, ``ctx.snapshot``), then call the ``configure`` handlers."""
        snapshot = Snapshot(config, self.registry)
        self.snapshot = snapshot
        self.handler.snapshot = snapshot
        IDLE_CONTEXT.snapshot = snapshot
        if self.registry.lua is not None:  # entities may have changed: kong.cache starts empty
            from host.lua.modules.moongate_cache import purge_lua_cache

            purge_lua_cache(self.registry.lua)
            for box in sandboxed_plugins(self.registry):
                if box.host is not None:
                    purge_lua_cache(box.host)
        await self._configure()
        log.log(25, "configuration applied", extra={"configuration_hash": snapshot.hash})

    async def reload_file(self, path: str) -> bool:
        """Load, validate and apply a declarative file; a bad file leaves the running config.

        A refusal is logged as one ``reload refused: <file>: <where>: <error>`` line per
        error, then one line saying which configuration keeps serving.
        """
        async with self._reload_lock:
            try:
                config = load_file(path, self.registry)
                await self.apply(config)
            except ConfigError as err:
                for line in err.errors:
                    log.error("reload refused: %s", line)
                self._kept(path, len(err.errors))
                return False
            except OSError as err:
                log.error("reload refused: %s", err)
                self._kept(path, 1)
                return False
            except Exception as err:  # noqa: BLE001 - building the snapshot failed: keep the old one
                log.error("reload refused: %s: %r", path, err)
                self._kept(path, 1)
                return False
            return True

    def _kept(self, path: str, errors: int) -> None:
        log.error(
            "reload of %s refused (%d error(s)): configuration %s keeps serving",
            path,
            errors,
            self.snapshot.hash,
            extra={"configuration_hash": self.snapshot.hash},
        )

    # -- status listener -------------------------------------------------------------------
    def _status_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/status", self._status)
        app.router.add_get("/status/ready", self._ready)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _status(self, request: web.Request) -> web.Response:
        """Kong's ``/status`` (host/workers/status.py: every worker's figures) plus ``plugins``."""
        from host.workers.status import status_body

        plugins = {
            "loaded": self.registry.names(),
            "failed": dict(self.registry.failures),
            "init_worker_errors": dict(self.init_errors),
            "breakers": self._breakers(),
        }
        try:
            body = status_body(self, request.query, plugins)
        except ValueError as err:
            return web.json_response({"message": str(err)}, status=400)
        extra = await self.hooks.status_extra(self)  # host hook: {extension name: block}
        if extra:
            body["extra"] = extra
        return web.json_response(body)

    def _breakers(self) -> dict[str, Any]:
        """The circuit breakers' settings and the open ones, with each instance's scope."""
        status = self.breaker.status()
        instances = {inst.id: inst for inst in self.snapshot.plugins.instances}
        for entry in status["open"]:
            inst = instances.get(entry["id"])
            if inst is not None:
                entry["route"] = inst.route_id or None
                entry["service"] = inst.service_id or None
                entry["consumer"] = inst.consumer_id or None
        return status

    async def _metrics(self, request: web.Request) -> web.Response:
        """This worker's Prometheus metrics (``kong_plugin_errors_total``, breakers)."""
        return web.Response(body=self.metrics.render(), headers={"Content-Type": METRICS_CONTENT_TYPE})

    async def _ready(self, request: web.Request) -> web.Response:
        """200 once the gateway serves: with several workers, once all of them are up (the
        supervisor marks that with ``<prefix>/status/ready-<its pid>.json``)."""
        if self.status_dir is not None and not (self.status_dir / f"ready-{os.getppid()}.json").exists():
            return web.json_response({"message": "workers are starting"}, status=503)
        return web.json_response({"message": "ready"})


def _counted(factory: Callable[[], Any]) -> Callable[[], Any]:
    """The protocol factory of a proxy listener, counting accepted connections for /status."""

    def make() -> Any:
        STATS["connections_accepted"] += 1
        STATS["connections_handled"] += 1
        return factory()

    return make


def read_config_or_empty(path: str | None, registry: PluginRegistry) -> DeclarativeConfig:
    if not path:
        return empty_config()
    return load_file(Path(path), registry)
