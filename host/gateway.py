"""Assembling a running gateway: plugins, config snapshot, listeners, reload, shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
from pathlib import Path
from typing import Any

from aiohttp import web

from host.config import ConfigError, load_file
from host.config.model import DeclarativeConfig
from host.config.snapshot import Snapshot
from host.context import IDLE_CONTEXT
from host.lua.loader import discover_lua_plugins
from host.lua.runtime import LuaHost
from host.plugins.python_loader import discover_python_plugins
from host.plugins.runner import PhaseRunner
from host.plugins.spec import PluginRegistry
from host.proxy.handler import ProxyHandler
from host.proxy.upstream_client import UpstreamClient
from host.settings import Settings, parse_listen
from pdk._settings import set_default_settings
from pdk.nginx import STATS
from pdk.phases import Phase

__all__ = ["Gateway", "build_registry", "empty_config"]

log = logging.getLogger("moongate.gateway")


def build_registry(settings: Settings) -> PluginRegistry:
    """Every plugin this gateway can run, from the bundled set, entry points and plugin dirs."""
    bundled = "bundled" in settings.plugins and "off" not in settings.plugins
    specs, failures = discover_python_plugins(settings.plugins_dirs, bundled=bundled)
    registry = PluginRegistry()
    registry.lua = LuaHost(settings)
    lua_specs, lua_failures = discover_lua_plugins(registry.lua, settings.plugins_dirs, bundled=bundled)
    specs += lua_specs
    failures.update(lua_failures)
    for spec in specs:
        try:
            registry.add(spec)
        except Exception as exc:  # noqa: BLE001 - duplicate names are reported, not fatal
            failures[spec.name] = str(exc)
    registry = _with_plugin_entities(registry, failures)
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

    def __init__(self, settings: Settings, registry: PluginRegistry, config: DeclarativeConfig) -> None:
        from pdk import kong

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
        self.runner = PhaseRunner(kong)
        self.handler = ProxyHandler(self.snapshot, settings, self.client, self.runner)
        self.init_errors: dict[str, str] = {}
        self._servers: list[asyncio.base_events.Server] = []
        self._runners: list[web.AppRunner] = []
        self._sweeper: asyncio.Task[None] | None = None
        self.proxy_port = 0
        self.status_port = 0

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        await self._init_worker()
        await self._configure()
        loop = asyncio.get_running_loop()
        host, port = parse_listen(self.settings.proxy_listen)
        server = web.Server(
            self.handler,
            access_log=None,
            handler_cancellation=False,
            max_line_size=self.settings.max_request_header_size,
            max_field_size=self.settings.max_request_header_size,
            max_headers=max(self.settings.lua_max_req_headers, 100) + 28,
        )
        srv = await loop.create_server(
            server, host, port, reuse_port=hasattr(socket, "SO_REUSEPORT"), backlog=16384
        )
        self._servers.append(srv)
        self.proxy_port = srv.sockets[0].getsockname()[1]
        self._proxy_server = server
        if self.settings.status_listen and self.settings.status_listen != "off":
            shost, sport = parse_listen(self.settings.status_listen)
            runner = web.AppRunner(self._status_app(), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, shost, sport)
            await site.start()
            self._runners.append(runner)
            self.status_port = runner.addresses[0][1]
        self._sweeper = loop.create_task(self._sweep())

        log.log(
            25,  # notice: shown at the default level
            "moongate started",
            extra={"proxy_port": self.proxy_port, "status_port": self.status_port, "pid": os.getpid()},
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
        """Stop accepting, let in-flight requests finish (up to ``grace`` s), close everything."""
        for srv in self._servers:
            srv.close()
        if getattr(self, "_proxy_server", None) is not None:
            self._proxy_server.pre_shutdown()  # closes idle keep-alive connections at once
            await self._proxy_server.shutdown(grace)
        if self.handler.log_tasks:
            await asyncio.wait(list(self.handler.log_tasks), timeout=grace)
        for runner in self._runners:
            await runner.cleanup()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.registry.lua is not None:  # Lua timers (premature), resty.http/redis pools
            await self.registry.lua.close()
        await self.client.close()
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
        """Swap in a new, fully built snapshot, then call ``configure`` handlers."""
        snapshot = Snapshot(config, self.registry)
        self.snapshot = snapshot
        self.handler.snapshot = snapshot
        IDLE_CONTEXT.snapshot = snapshot
        if self.registry.lua is not None:  # entities may have changed: kong.cache starts empty
            from host.lua.modules.moongate_cache import purge_lua_cache

            purge_lua_cache(self.registry.lua)
        await self._configure()
        log.log(25, "configuration applied", extra={"configuration_hash": snapshot.hash})

    async def reload_file(self, path: str) -> bool:
        """Load, validate and apply a declarative file; a bad file leaves the running config."""
        try:
            config = load_file(path, self.registry)
        except ConfigError as err:
            for line in err.errors:
                log.error("reload refused: %s", line)
            return False
        except OSError as err:
            log.error("reload refused: %s", err)
            return False
        await self.apply(config)
        return True

    # -- status listener -------------------------------------------------------------------
    def _status_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/status", self._status)
        app.router.add_get("/status/ready", self._ready)
        return app

    async def _status(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {
            "server": dict(STATS),
            "configuration_hash": self.snapshot.hash,
            "plugins": {
                "loaded": self.registry.names(),
                "failed": dict(self.registry.failures),
                "init_worker_errors": dict(self.init_errors),
            },
        }
        return web.json_response(body)

    async def _ready(self, request: web.Request) -> web.Response:
        return web.json_response({"message": "ready"})


def read_config_or_empty(path: str | None, registry: PluginRegistry) -> DeclarativeConfig:
    if not path:
        return empty_config()
    return load_file(Path(path), registry)
