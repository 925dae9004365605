"""The DB-less store: the declarative document in memory, optionally persisted to a file.

In DB-less mode the declarative file is the truth and only ``POST /config`` changes
the configuration.  With a ``path`` (``<prefix>/declarative.json``) the accepted
document is written atomically (a temporary file, fsync, then ``rename``), so the
other workers of the node, which poll :meth:`version`, and a restart see it.  The
version is the file's identity (inode and modification time): every replace
renames a new file into place, so it changes with every write and costs one
``stat`` to read.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import orjson

from host.store.base import StaleVersion, Store, Stored, Write, document, entity_lists

__all__ = ["DeclarativeStore"]


class DeclarativeStore(Store):
    """The store of ``database = off`` (see the module docstring)."""

    kind = "off"

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._data: dict[str, Any] = document({})
        self._counter = 0
        self._lock = threading.Lock()

    # -- Store -----------------------------------------------------------------------------
    def version(self) -> str:
        if self.path is None:
            return str(self._counter)
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return "none"
        return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"

    def load(self) -> Stored:
        if self.path is None:
            with self._lock:
                return Stored(str(self._counter), self._data)
        for _ in range(5):  # a rename between stat and read: read again
            before = self.version()
            if before == "none":
                return Stored(before, document({}))
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                continue
            if self.version() == before:
                return Stored(before, orjson.loads(raw))
        raise OSError(f"{self.path}: changing too fast to be read")

    def replace(self, data: dict[str, Any]) -> str:
        if self.path is None:
            with self._lock:
                self._data = data
                self._counter += 1
                return str(self._counter)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        return self.version()

    def write(self, change: Write, expect: str | None) -> str:
        """Entity writes on a whole-document store: read, change, replace (tests and tools;
        the Admin API refuses entity writes in DB-less mode as Kong does)."""
        current = self.load()
        if expect is not None and current.version != expect:
            raise StaleVersion(f"store at version {current.version}, not {expect}")
        lists = {name: list(rows) for name, rows in entity_lists(current.data).items()}
        for entity, row_id in change.deletes:
            lists[entity] = [r for r in lists.get(entity, []) if r.get("id") != row_id]
        for entity, row in change.upserts:
            rows = [r for r in lists.get(entity, []) if r.get("id") != row.get("id")]
            lists[entity] = [*rows, row]
        return self.replace(document(lists))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
