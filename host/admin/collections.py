"""The Admin API's entity collections: their URL names, keys, and lookups in a configuration.

Each entity type of the loader's catalog (core entities, the credentials of the
enabled auth plugins, entities plugins declare) is a :class:`Collection`:
``path`` is its top-level URL name (``/key-auths``), ``nested`` its name under a
parent (``/consumers/{c}/key-auth``).  ``{id}`` segments are looked up by id when
they are UUIDs, else by the endpoint key (``name``, ``username``, ...) or, for
targets and ACLs, by ``target``/``group`` within the parent (Kong's rules).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from host.config.entities import EntityType, catalog
from host.config.model import DeclarativeConfig
from host.config.plugin_entities import declared_entity_types
from host.config.upstreams import normalize_target
from host.plugins.spec import PluginRegistry
from host.store.boot import config_lists

__all__ = ["Collection", "collections", "ConfigIndex", "is_uuid"]

#: entity -> (top-level path or None when only nested, nested path)
_PATHS: dict[str, tuple[str | None, str]] = {
    "targets": (None, "targets"),
    "keyauth_credentials": ("key-auths", "key-auth"),
    "basicauth_credentials": ("basic-auths", "basic-auth"),
    "jwt_secrets": ("jwts", "jwt"),
    "hmacauth_credentials": ("hmac-auths", "hmac-auth"),
    "oauth2_credentials": ("oauth2", "oauth2"),
}
#: entities found by another field than the endpoint key, within their parent
_ALT_KEYS = {"targets": "target", "acls": "group"}
#: foreign keys whose referencing entities go with the referenced one (Kong's on_delete cascade)
_CASCADE = {"plugins", "targets", "snis"}


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


@dataclass(frozen=True)
class Collection:
    """One entity type as the Admin API exposes it."""

    etype: EntityType
    path: str | None
    nested: str

    @property
    def entity(self) -> str:
        return self.etype.name

    @property
    def key(self) -> str | None:
        """The field an ``{id}`` segment that is not a UUID names."""
        etype = self.etype
        return _ALT_KEYS.get(etype.name) or etype.endpoint_key

    def cascades(self, fk: str) -> bool:
        """Whether deleting what ``fk`` references deletes this entity too."""
        if self.etype.name in _CASCADE or self.etype.plugin is not None:
            return True
        schema = self.etype.schema
        fdef = schema.fields.get(fk) if schema is not None else None
        return fdef is not None and fdef.attrs.get("on_delete") == "cascade"


def entity_types(registry: PluginRegistry) -> dict[str, EntityType]:
    """The loader's catalog: core entities, then those of the registry's plugins."""
    declared = [t for t in declared_entity_types(registry) if t.primary_key == ("id",)]
    return catalog(frozenset(registry.names()), declared)


def collections(registry: PluginRegistry) -> dict[str, Collection]:
    """Every collection, by entity name."""
    out = {}
    for name, etype in entity_types(registry).items():
        top, nested = _PATHS.get(name, (name, name))
        out[name] = Collection(etype, top, nested)
    return out


class ConfigIndex:
    """The entities of one configuration, by entity and id (built once per configuration)."""

    def __init__(self, config: DeclarativeConfig) -> None:
        self.config = config
        self.lists = config_lists(config)
        self.by_id: dict[str, dict[str, dict[str, Any]]] = {
            name: {row["id"]: row for row in rows} for name, rows in self.lists.items()
        }

    def rows(self, entity: str) -> list[dict[str, Any]]:
        return self.lists.get(entity, [])

    def get(self, entity: str, entity_id: str) -> dict[str, Any] | None:
        return self.by_id.get(entity, {}).get(entity_id)

    def find(
        self, coll: Collection, ref: str, parent: tuple[str, str] | None = None
    ) -> dict[str, Any] | None:
        """The entity ``ref`` names (id or key), within ``parent`` = (fk, parent id) if given."""
        row: dict[str, Any] | None = None
        if is_uuid(ref):
            row = self.get(coll.entity, ref)
        key = coll.key
        if row is None and key is not None:
            wanted = normalize_target(ref) if key == "target" else ref
            for candidate in self.rows(coll.entity):
                if candidate.get(key) == wanted and _within(candidate, parent):
                    row = candidate
                    break
        if row is not None and not _within(row, parent):
            return None
        return row

    def referencing(
        self, entity: str, entity_id: str, colls: dict[str, Collection]
    ) -> list[tuple[str, str, str]]:
        """``(entity, id, fk)`` of every entity whose foreign key points at ``entity_id``."""
        found = []
        for coll in colls.values():
            for fk, ref in coll.etype.foreign.items():
                if ref != entity:
                    continue
                for row in self.rows(coll.entity):
                    value = row.get(fk)
                    if isinstance(value, dict) and value.get("id") == entity_id:
                        found.append((coll.entity, row["id"], fk))
        return found


def _within(row: dict[str, Any], parent: tuple[str, str] | None) -> bool:
    if parent is None:
        return True
    value = row.get(parent[0])
    return isinstance(value, dict) and value.get("id") == parent[1]
