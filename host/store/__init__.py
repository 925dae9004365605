"""Where the configuration is kept: DB-less (declarative) or SQLite, behind one interface.

``open_store(settings)`` picks the implementation from ``settings.database``;
:mod:`host.store.boot` seeds it at start and gives the first configuration.
"""

from __future__ import annotations

from pathlib import Path

from host.settings import Settings
from host.store.base import StaleVersion, Store, Stored, Write, document, entity_lists
from host.store.declarative import DeclarativeStore
from host.store.sqlite import DB_FILE, SqliteStore

__all__ = [
    "Store",
    "Stored",
    "Write",
    "StaleVersion",
    "DeclarativeStore",
    "SqliteStore",
    "DATABASES",
    "DECLARATIVE_FILE",
    "open_store",
    "document",
    "entity_lists",
]

#: the values of the ``database`` setting
DATABASES = ("off", "sqlite")
#: where DB-less mode keeps the last accepted ``POST /config`` inside the prefix
DECLARATIVE_FILE = "declarative.json"


def open_store(settings: Settings) -> Store:
    """The store ``settings.database`` names, with its files in ``settings.prefix``."""
    prefix = Path(settings.prefix)
    if settings.database == "sqlite":
        return SqliteStore(prefix / DB_FILE)
    if settings.database == "off":
        return DeclarativeStore(prefix / DECLARATIVE_FILE)
    raise ValueError(f"database: expected one of: {', '.join(DATABASES)} (got '{settings.database}')")
