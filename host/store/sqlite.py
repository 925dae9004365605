"""The SQLite store: one row per entity, WAL journal, one transaction per write.

Schema: ``entities(seq, entity, id, data)`` with ``data`` the entity's JSON in
storage form and ``seq`` the order of writing (an upsert gets a new ``seq``, so
a changed entity moves to the end of its list, as in :class:`Write`), and
``meta(key, value)`` holding the ``version`` counter that every write increments
in the same transaction.  ``synchronous = FULL``: a write that returned has
reached the disk, so a process killed right after it (or a power cut) keeps it;
WAL keeps readers (the other workers polling :meth:`version`) off the writer's way.
Each process opens its own connection (lazily: a store made before a fork reconnects in
the child); ``BEGIN IMMEDIATE`` serializes writers
across processes and the version check inside it refuses stale writes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import orjson

from host.store.base import StaleVersion, Store, Stored, Write, document, entity_lists

__all__ = ["SqliteStore", "DB_FILE"]

#: the database file inside the prefix directory
DB_FILE = "moongate.db"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entities ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " entity TEXT NOT NULL, id TEXT NOT NULL, data BLOB NOT NULL,"
    " UNIQUE (entity, id))",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('version', '0')",
)


class SqliteStore(Store):
    """The store of ``database = sqlite`` (see the module docstring)."""

    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self._transaction(write=True):
            for statement in _SCHEMA:
                self._db.execute(statement)

    # -- helpers ---------------------------------------------------------------------------
    @property
    def _db(self) -> sqlite3.Connection:
        """This process's connection: a store made before a fork reconnects in each child."""
        if self._conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _transaction(self, write: bool = False) -> _Transaction:
        return _Transaction(self, write)

    def _version(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        return row[0] if row else "0"

    def _bump(self) -> str:
        version = str(int(self._version()) + 1)
        self._db.execute("UPDATE meta SET value = ? WHERE key = 'version'", (version,))
        return version

    # -- Store -----------------------------------------------------------------------------
    def version(self) -> str:
        with self._lock:
            return self._version()

    def is_empty(self) -> bool:
        """Whether no entity was ever stored (a first start seeds such a store)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM entities LIMIT 1").fetchone() is None and (
                self._version() == "0"
            )

    def load(self) -> Stored:
        with self._transaction():  # one read transaction: rows and version agree
            version = self._version()
            lists: dict[str, list[dict[str, Any]]] = {}
            for entity, data in self._db.execute("SELECT entity, data FROM entities ORDER BY seq"):
                lists.setdefault(entity, []).append(orjson.loads(data))
        return Stored(version, document(lists))

    def replace(self, data: dict[str, Any]) -> str:
        with self._transaction(write=True):
            self._db.execute("DELETE FROM entities")
            rows = [
                (entity, row["id"], orjson.dumps(row))
                for entity, entities in entity_lists(data).items()
                for row in entities
            ]
            self._db.executemany("INSERT INTO entities (entity, id, data) VALUES (?, ?, ?)", rows)
            return self._bump()

    def write(self, change: Write, expect: str | None) -> str:
        with self._transaction(write=True):
            current = self._version()
            if expect is not None and current != expect:
                raise StaleVersion(f"store at version {current}, not {expect}")
            for entity, row_id in change.deletes:
                self._db.execute("DELETE FROM entities WHERE entity = ? AND id = ?", (entity, row_id))
            for entity, row in change.upserts:
                self._db.execute("DELETE FROM entities WHERE entity = ? AND id = ?", (entity, row["id"]))
                self._db.execute(
                    "INSERT INTO entities (entity, id, data) VALUES (?, ?, ?)",
                    (entity, row["id"], orjson.dumps(row)),
                )
            return self._bump()

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound database file."""
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


class _Transaction:
    """``BEGIN [IMMEDIATE]`` ... ``COMMIT`` (``ROLLBACK`` on an exception), under the lock."""

    def __init__(self, store: SqliteStore, write: bool = False) -> None:
        self.store = store
        self.lock = store._lock
        self.write = write

    def __enter__(self) -> None:
        self.lock.acquire()
        try:
            self.db = self.store._db
            self.db.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            self.lock.release()
