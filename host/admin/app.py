"""The Admin API server of one worker: its aiohttp application, listener and store poller.

Fixed endpoints (node info, schemas, ``/config``, upstream health) are aiohttp
routes; every entity path goes to one catch-all handler (:mod:`host.admin.crud`)
that resolves collections, nested paths and ``{id}`` lookups itself.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

from aiohttp import web

from host.admin import crud, info, schemas
from host.admin.errors import method_not_allowed
from host.admin.security import check_listen, middleware
from host.admin.state import ConfigState
from host.store import Store

if TYPE_CHECKING:
    from host.gateway import Gateway

__all__ = ["AdminServer", "build_app"]


def build_app(gateway: Gateway, state: ConfigState) -> web.Application:
    """The Admin API application for ``gateway`` (no listener)."""
    settings = gateway.settings
    app = web.Application(
        middlewares=[middleware(settings)], client_max_size=settings.admin_client_max_body_size or 2**62
    )
    info.routes(app, gateway, state)
    types = {name: coll.etype for name, coll in state.collections.items()}
    schemas.routes(app, gateway.registry, types)

    async def generic(request: web.Request) -> web.StreamResponse:
        segments = [s for s in request.match_info["tail"].split("/") if s]
        if request.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise method_not_allowed()
        return await crud.dispatch(request, state, segments)

    # host hook register_admin_routes (host/plugins/host_hooks.py); a plugin module's
    # ADMIN_ROUTES(gateway) is its shorthand (e.g. proxy-cache's purge endpoints)
    gateway.hooks.register_admin_routes(app, gateway)
    app.router.add_route("*", "/{tail:.*}", generic)
    return app


class AdminServer:
    """Starts and stops the Admin API listener and the store poller of one worker."""

    def __init__(self, gateway: Gateway, store: Store) -> None:
        self.gateway = gateway
        self.store = store
        self.state = ConfigState(gateway, store)
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._poller: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Adopt the store's configuration, open the listener (unless ``off``), start polling."""
        settings = self.gateway.settings
        address = check_listen(settings)  # refuses an exposed listener without a token
        await self.state.start()
        if address is not None:
            runner = web.AppRunner(build_app(self.gateway, self.state), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, address[0], address[1], reuse_port=hasattr(socket, "SO_REUSEPORT"))
            await site.start()
            self._runner = runner
            self.port = runner.addresses[0][1]
        # DB-less, the prefix file is how a supervisor's workers share POST /config; a
        # gateway on its own has no such peers (and must not follow another gateway that
        # happens to use the same prefix)
        if self.store.kind != "off" or self.gateway.worker_id is not None:
            self._poller = asyncio.get_running_loop().create_task(
                self.state.follow(max(0.01, float(settings.db_update_frequency)))
            )

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            try:
                await self._poller
            except asyncio.CancelledError:
                pass
            self._poller = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.store.close()
