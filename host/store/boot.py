"""Start-up: open the store, seed it from a declarative file, read the first configuration.

The storage form of a loaded configuration (:func:`storage_lists`) is Kong's flat
export: every entity as the loader produced it, minus what the loader derives on
its own (a certificate's ``snis`` list) and minus the placeholder timestamps of
entities whose file set none (``0``: the loader fills it in again), so loading a
stored document with ``_transform: false`` gives back the same entities.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from host.config import FIXED_TIMESTAMP, load_data, load_file
from host.config.model import CORE_ENTITIES, DeclarativeConfig
from host.plugins.spec import PluginRegistry
from host.settings import Settings
from host.store import Store, open_store
from host.store.base import document
from host.store.sqlite import SqliteStore

__all__ = ["boot", "config_lists", "load_stored", "storage_lists", "storage_row", "storage_document"]

log = logging.getLogger("moongate.store")
_TIMESTAMPS = ("created_at", "updated_at")


def storage_row(entity: str, row: dict[str, Any], stamp: int | None = None) -> dict[str, Any]:
    """One entity in storage form (a shallow copy); placeholder timestamps are dropped,
    or set to ``stamp``."""
    out = dict(row)
    for key in _TIMESTAMPS:
        if key in out and out[key] == FIXED_TIMESTAMP:
            if stamp is None:
                del out[key]
            else:
                out[key] = stamp
    if entity == "certificates":
        out.pop("snis", None)
    return out


def config_lists(config: DeclarativeConfig) -> dict[str, list[dict[str, Any]]]:
    """Every entity list of a loaded configuration: core ones, then plugin entities."""
    lists = {name: getattr(config, name) for name in CORE_ENTITIES}
    lists.update(config.credentials)
    return lists


def storage_lists(config: DeclarativeConfig, stamp: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every entity list of ``config`` in storage form."""
    return {name: [storage_row(name, r, stamp) for r in rows] for name, rows in config_lists(config).items()}


def storage_document(config: DeclarativeConfig, *, stamp: int | None = None) -> dict[str, Any]:
    """The storage-form document of ``config``; ``stamp`` replaces placeholder timestamps."""
    return document(storage_lists(config, stamp))


def load_stored(store: Store, registry: PluginRegistry) -> tuple[str, DeclarativeConfig]:
    """The store's version and its document, validated into a configuration."""
    stored = store.load()
    return stored.version, load_data(stored.data, registry, source=f"<{store.kind} store>")


def boot(
    settings: Settings, registry: PluginRegistry, config_file: str | None
) -> tuple[Store, DeclarativeConfig]:
    """Open the store of ``settings.database`` and read the configuration to start with.

    DB-less: a ``config_file`` is the truth; it replaces what an earlier ``POST
    /config`` left in the prefix.  SQLite: a ``config_file`` seeds an empty store
    and is ignored (with a notice) once the store holds a configuration.
    Raises :class:`~host.config.ConfigError` for an invalid file or store content.
    """
    store = open_store(settings)
    if config_file:
        config = load_file(config_file, registry)
        if isinstance(store, SqliteStore):
            if store.is_empty():
                store.replace(storage_document(config, stamp=int(time.time())))
                log.log(25, "store seeded from %s", config_file)
            else:
                log.log(25, "store already holds a configuration: %s not applied", config_file)
                return store, load_stored(store, registry)[1]
        else:
            store.replace(storage_document(config))
            return store, config
    return store, load_stored(store, registry)[1]
