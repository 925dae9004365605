"""Validation results kept between loads of the same configuration, keyed by entity content.

An Admin API write validates the *complete* document again (one validator for files,
``POST /config`` and entity writes: see ``host/admin/state.py``), and nearly every
entity in it is the one validated by the previous load.  A :class:`ValidationCache`
passed to :func:`host.config.load_data` remembers, for each entity, the schema
validation's result (the normalized entity and its errors) under the exact content it
was given, so an unchanged entity is not validated again; everything after the schema
(references, uniqueness, plugin scopes, timestamps, transformations, the snapshot) still
runs on the whole document, so all-or-nothing and the error messages do not change.

What a cached result depends on: the schema object (one per entity type, or per plugin
and registry: it is part of the key) and the payload, serialized with orjson.  A payload
orjson cannot write back exactly (``NaN``, tuples, other types) is not cached.  Each hit
returns a fresh copy (``orjson.loads``): loaders and the Admin API change the entities
they get.  Entries live one generation: a successful load keeps only what it used, so
the cache holds about one configuration's worth (a failed load adds what it validated).
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["ValidationCache"]

#: a cached validation: the normalized entity (orjson bytes) and its error pairs
Entry = tuple[bytes, tuple[tuple[str, str], ...]]


class ValidationCache:
    """Schema validation results by (schema, payload); see the module docstring."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, bytes], Entry] = {}
        self._schemas: dict[int, Any] = {}  # keeps the schemas alive: their ids stay theirs
        self._used: dict[tuple[int, bytes], Entry] | None = None
        #: plugin entity schemas the loader derives from a spec: (spec, schema) by name
        self._derived: dict[str, tuple[Any, Any]] = {}
        self.hits = 0
        self.misses = 0

    # -- plugin schemas made from a spec (so their ids, part of the keys, stay the same) ----
    def derived_schema(self, spec: Any) -> Any:
        """The entity schema an earlier load derived from ``spec`` (the same object), if any."""
        entry = self._derived.get(spec.name)
        return entry[1] if entry is not None and entry[0] is spec else None

    def keep_derived_schema(self, spec: Any, schema: Any) -> None:
        self._derived[spec.name] = (spec, schema)

    # -- one load ---------------------------------------------------------------------------
    def begin(self) -> None:
        """A load starts: what it uses is collected for the next generation."""
        self._used = {}

    def commit(self) -> None:
        """The load succeeded: keep only the entries it used."""
        if self._used is not None:
            self._entries = self._used
            live = {key[0] for key in self._entries}
            self._schemas = {k: v for k, v in self._schemas.items() if k in live}
        self._used = None

    def abandon(self) -> None:
        """The load failed (a refused write): what it validated is kept too, since the next
        document is mostly the same; a long run of refusals cannot grow it without bound."""
        used = self._used
        self._used = None
        if used is not None:
            if len(self._entries) > 4 * len(used) + 1024:
                self._entries = used
            else:
                self._entries.update(used)

    # -- lookups ----------------------------------------------------------------------------
    @staticmethod
    def key(schema: Any, payload: dict[str, Any]) -> tuple[int, bytes] | None:
        """The cache key of a payload, or ``None`` when it cannot be cached exactly."""
        try:
            text = orjson.dumps(payload)
        except TypeError:  # not JSON (a date from YAML, a big integer, ...)
            return None
        if orjson.loads(text) != payload:  # NaN, tuples, str subclasses: not exact
            return None
        return (id(schema), text)

    def get(self, key: tuple[int, bytes]) -> tuple[dict[str, Any], list[tuple[str, str]]] | None:
        """A fresh copy of the cached ``(data, errors)`` for ``key``, or ``None``."""
        entry = self._entries.get(key)
        if entry is None and self._used is not None:
            entry = self._used.get(key)  # the same entity twice in one document
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        if self._used is not None:
            self._used[key] = entry
        return orjson.loads(entry[0]), list(entry[1])

    def put(self, key: tuple[int, bytes], schema: Any, data: Any, errors: list[tuple[str, str]]) -> None:
        """Remember the validation of the payload ``key`` was made from."""
        try:
            text = orjson.dumps(data)
        except TypeError:
            return
        if orjson.loads(text) != data:
            return
        entry = (text, tuple(errors))
        self._schemas[key[0]] = schema
        if self._used is not None:
            self._used[key] = entry
        else:
            self._entries[key] = entry

    def __len__(self) -> int:
        return len(self._entries)
