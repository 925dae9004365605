"""Fixtures for the Admin API tests: real gateways with an Admin listener on an ephemeral port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from host.config import load_data
from host.gateway import Gateway, build_registry
from host.settings import Settings
from host.store import DeclarativeStore, SqliteStore, Store
from host.store.boot import storage_document

TEST_PLUGINS = Path(__file__).parents[2] / "plugins"
LUA_PLUGINS = Path(__file__).parents[2] / "lua_plugins"


class AdminGateway:
    """A started gateway, its Admin API URL and its store."""

    def __init__(self, gateway: Gateway, store: Store) -> None:
        self.gateway = gateway
        self.store = store
        self.url = f"http://127.0.0.1:{gateway.proxy_port}"
        self.admin = f"http://127.0.0.1:{gateway.admin_port}"


AdminFactory = Callable[..., Awaitable[AdminGateway]]


@pytest.fixture
async def make_admin(tmp_path: Path) -> AsyncIterator[AdminFactory]:
    """``await make_admin(config=None, database="sqlite"|"off", store=None, seed=True, worker_id=None, **settings)``.

    The store (a fresh SQLite file or an in-memory DB-less one unless given) is seeded
    with ``config`` unless ``seed=False``."""
    started: list[Gateway] = []

    async def factory(
        config: dict[str, Any] | None = None,
        *,
        database: str = "sqlite",
        plugins_dirs: list[str | Path] | None = None,
        store: Store | None = None,
        seed: bool = True,
        worker_id: int | None = None,
        **overrides: Any,
    ) -> AdminGateway:
        dirs = (
            [str(TEST_PLUGINS), str(LUA_PLUGINS)] if plugins_dirs is None else [str(d) for d in plugins_dirs]
        )
        values: dict[str, Any] = {
            "proxy_listen": "127.0.0.1:0",
            "status_listen": "127.0.0.1:0",
            "admin_listen": "127.0.0.1:0",
            "plugins_dirs": dirs,
            "database": database,
            "prefix": str(tmp_path),
        }
        values.update(overrides)
        settings = Settings(**values)
        registry = build_registry(settings)
        cfg = load_data(config or {"_format_version": "3.0"}, registry, source="test.yml")
        if store is None:
            store = SqliteStore(tmp_path / "moongate.db") if database == "sqlite" else DeclarativeStore()
        if seed:
            store.replace(storage_document(cfg))
        gateway = Gateway(settings, registry, cfg, store=store)
        gateway.worker_id = worker_id  # as the supervisor sets it in each worker it forks
        await gateway.start()
        started.append(gateway)
        return AdminGateway(gateway, store)

    yield factory
    for gw in started:
        await gw.stop(grace=1.0)
