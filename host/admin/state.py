"""The configuration as the Admin API changes it: validate the whole, commit, apply.

A write is planned against the current configuration (a :data:`Plan` returns the
entities to upsert and delete), applied to a copy of the stored document, and the
*complete* document goes through the declarative loader: one validator for files,
``POST /config`` and entity writes, and all-or-nothing for free.  Only a document
that passed is committed to the store (one transaction, refused when another
worker wrote meanwhile: then the state is reloaded and the plan made again), and
then applied to the running gateway.

Every worker polls the store's version every ``db_update_frequency`` seconds
(:meth:`ConfigState.follow`) and applies a newer document; the worker that took
a write applies it at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from host.admin.collections import Collection, ConfigIndex, collections
from host.admin.errors import AdminError, from_config_error, schema_violation
from host.config import ConfigError, load_data
from host.config.model import DeclarativeConfig
from host.config.transformations import apply_transformations
from host.config.validation_cache import ValidationCache
from host.store import StaleVersion, Store, Write, document
from host.store.boot import storage_document, storage_lists, storage_row

if TYPE_CHECKING:
    from host.gateway import Gateway

__all__ = ["ConfigState", "Planned", "Plan", "now"]

log = logging.getLogger("moongate.admin")
SOURCE = "admin"
_ATTEMPTS = 5


def now() -> int:
    """Kong's ``auto_timestamp_s``: whole seconds."""
    return int(time.time())


@dataclass
class Planned:
    """What one Admin API write changes; ``target`` is the entity the response shows."""

    upserts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)
    target: tuple[str, str] | None = None
    transform: bool = False  # run the target's write transformations (a new secret was given)


#: builds the change from the current configuration; raises AdminError to refuse it
Plan = Callable[[ConfigIndex], Planned]


class ConfigState:
    """The running configuration of one worker, kept in step with its store."""

    def __init__(self, gateway: Gateway, store: Store) -> None:
        self.gateway = gateway
        self.store = store
        self.registry = gateway.registry
        self.collections: dict[str, Collection] = collections(gateway.registry)
        self.version: str | None = None
        self.lock = asyncio.Lock()
        self._index: ConfigIndex | None = None
        #: schema validations of the running configuration's entities: a write validates
        #: the whole document again, but only the entities it changed cost a validation
        self.validations = ValidationCache()

    @property
    def db_less(self) -> bool:
        return self.store.kind == "off"

    @property
    def config(self) -> DeclarativeConfig:
        return self.gateway.snapshot.config

    @property
    def index(self) -> ConfigIndex:
        """The running configuration's entities (rebuilt when the snapshot changes)."""
        config = self.config
        if self._index is None or self._index.config is not config:
            self._index = ConfigIndex(config)
        return self._index

    # -- following the store -----------------------------------------------------------------
    async def start(self) -> None:
        """Adopt the store's version; apply its content if the gateway started with another."""
        async with self.lock:
            stored = self.store.load()
            if stored.data == storage_document(self.config):
                self.version = stored.version
            else:
                await self._apply_stored()

    async def refresh(self) -> bool:
        """Apply the store's content if it changed since this worker last saw it."""
        if self.store.version() == self.version:
            return False
        async with self.lock:
            return await self._apply_stored()

    async def _apply_stored(self) -> bool:
        stored = self.store.load()
        if stored.version == self.version:
            return False
        try:
            config = load_data(stored.data, self.registry, source=f"<{self.store.kind} store>")
        except ConfigError as err:  # another node's plugins? keep serving what runs
            log.error("stored configuration refused: %s", "; ".join(err.errors[:5]))
            self.version = stored.version
            return False
        self.version = stored.version
        await self.gateway.apply(config)
        return True

    async def follow(self, interval: float) -> None:
        """Poll the store every ``interval`` seconds for ever (a task of the worker)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception:  # noqa: BLE001 - a broken store must not end the poller
                log.exception("polling the store failed")

    # -- writes --------------------------------------------------------------------------------
    async def write(self, plan: Plan) -> dict[str, Any] | None:
        """Plan, validate, commit and apply one entity write; the target entity after it."""
        async with self.lock:
            for _ in range(_ATTEMPTS):
                if self.store.version() != self.version:
                    await self._apply_stored()
                planned = plan(self.index)
                config, entity_path = self._validate(planned)
                index = ConfigIndex(config)
                target = self._finish(planned, index)
                change = Write(
                    upserts=[(e, storage_row(e, index.get(e, r["id"]) or r)) for e, r in planned.upserts],
                    deletes=planned.deletes,
                )
                try:
                    version = self.store.write(change, expect=self.version)
                except StaleVersion:
                    continue
                self.version = version
                await self.gateway.apply(config)
                self._index = index  # the running configuration's, for the next write
                return target
            raise AdminError(409, {"message": "the configuration kept changing; try again"})

    def _validate(self, planned: Planned) -> tuple[DeclarativeConfig, str]:
        lists = {name: {row["id"]: row for row in rows} for name, rows in storage_lists(self.config).items()}
        for entity, row_id in planned.deletes:
            lists.get(entity, {}).pop(row_id, None)
        entity_path = ""
        for entity, row in planned.upserts:
            rows = lists.setdefault(entity, {})
            rows.pop(row["id"], None)
            rows[row["id"]] = row  # written entities go last: uniqueness errors name them
            if planned.target == (entity, row["id"]):
                entity_path = f"{entity}[{len(rows) - 1}]"
        doc = document({name: rows.values() for name, rows in lists.items()})
        try:
            return load_data(doc, self.registry, source=SOURCE, cache=self.validations), entity_path
        except ConfigError as err:
            raise from_config_error(err.errors, SOURCE, entity_path) from None

    def _finish(self, planned: Planned, index: ConfigIndex) -> dict[str, Any] | None:
        if planned.target is None:
            return None
        entity, row_id = planned.target
        row = index.get(entity, row_id)
        if row is None:
            return None
        etype = self.collections[entity].etype
        if planned.transform and etype.transformations:
            err = apply_transformations(etype.transformations, row)
            if err is not None:
                raise schema_violation({"@entity": [err]})
        return row

    async def replace(self, config: DeclarativeConfig) -> None:
        """Replace everything with an already validated configuration (``POST /config``)."""
        async with self.lock:
            self.version = self.store.replace(storage_document(config))
            await self.gateway.apply(config)
