"""The store interface: where the configuration lives between restarts and across workers.

A store holds one declarative document in Moongate's *storage form*: Kong's
flat export (``_format_version: "3.0"``, ``_transform: false``, one list per
entity type, foreign keys as ``{"id": ...}``, every id written out), which the
declarative loader reads back unchanged.  Validation never happens here: the
caller (the Admin API, ``config sync``, start-up) validates with the loader
first and hands the store only documents that passed.

The interface is deliberately small, so a shared PostgreSQL store can
implement it next: :meth:`Store.load`, :meth:`Store.replace`,
:meth:`Store.write` (one transaction of entity upserts and deletes, refused when
another writer got there first) and :meth:`Store.version` (cheap: the workers
poll it to notice changes).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Store", "Stored", "Write", "StaleVersion", "META_KEYS", "entity_lists", "document"]

#: the keys of a storage-form document that are not entity lists
META_KEYS = ("_format_version", "_transform")


class StaleVersion(Exception):
    """A write was based on an older version than the store's: reload and try again."""


@dataclass(frozen=True)
class Stored:
    """What :meth:`Store.load` returns: the version and the document at that version."""

    version: str
    data: dict[str, Any]


@dataclass
class Write:
    """One transaction of entity changes: ``(entity, row)`` upserts and ``(entity, id)`` deletes.

    An upserted row moves to the end of its entity's list (the newest last).
    """

    upserts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)


def entity_lists(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The entity lists of a storage-form document (meta keys left out)."""
    return {k: v for k, v in data.items() if k not in META_KEYS and isinstance(v, list)}


def document(lists: dict[str, Iterable[dict[str, Any]]]) -> dict[str, Any]:
    """A storage-form document from entity lists (empty lists left out)."""
    out: dict[str, Any] = {"_format_version": "3.0", "_transform": False}
    for name, rows in lists.items():
        rows = list(rows)
        if rows:
            out[name] = rows
    return out


class Store(ABC):
    """Where the declarative configuration is kept (see the module docstring)."""

    #: the ``database`` setting this store implements (``off``, ``sqlite``)
    kind: str = ""

    @abstractmethod
    def load(self) -> Stored:
        """The current document and its version, read consistently."""

    @abstractmethod
    def version(self) -> str:
        """An opaque token that changes whenever the content changes (cheap to call)."""

    @abstractmethod
    def replace(self, data: dict[str, Any]) -> str:
        """Replace everything with ``data`` (storage form) atomically; the new version."""

    @abstractmethod
    def write(self, change: Write, expect: str | None) -> str:
        """Apply ``change`` in one transaction; the new version.

        Raises :class:`StaleVersion` (changing nothing) when ``expect`` is given
        and the store is no longer at that version.
        """

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Release files and connections."""
