"""Entity types a plugin declares itself (Kong's ``daos.lua``), as :class:`EntityType`.

A plugin may ship the schemas of its own entities: tokens, sessions, anything it
keeps per consumer.  Each schema (Kong's metaschema: ``name``, ``primary_key``,
``cache_key``, ``endpoint_key``, ``fields``, ``ttl``, ``transformations``, ...) becomes
an :class:`EntityType` compiled by the same schema engine as every other entity,
so a declarative file validates these entities with Kong's messages, defaults,
generated values, uniqueness and references, nested in their parent
(``consumers[].my_tokens[]``) or at the top level, and ``kong.db.<name>`` reads
them from the snapshot.  The entities exist when their plugin is loaded.

The language-neutral half is here: :func:`entity_type` converts one definition
(Python data, Lua functions already wrapped as callables) and
:func:`check_plugin_entities` checks the declarations of all loaded plugins
together (names, references).  Reading ``daos.lua`` is :mod:`host.config.lua_daos`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from host.config.entities import EntityType, _core
from host.config.transformations import Transformation
from host.plugins.spec import PluginLoadError, PluginRegistry
from host.schema import Schema, typedefs
from host.schema.messages import SchemaDefinitionError

__all__ = ["entity_type", "check_plugin_entities", "declared_entity_types", "ENTITIES_KEY"]

#: key of ``PluginSpec.extra`` holding the entity types a plugin declares
ENTITIES_KEY = "entities"
#: Kong's metaschema keys (anything else in a daos.lua schema is an unknown field)
_KEYS = frozenset(
    {
        "name", "primary_key", "workspaceable", "endpoint_key", "cache_key", "ttl", "db_export",
        "subschema_key", "subschema_error", "subschemas", "generate_admin_api", "admin_api_name",
        "table_name", "admin_api_nested_name", "fields", "entity_checks", "shorthand_fields",
        "transformations", "check", "dao",
    }
)  # fmt: skip
_SCHEMA_KEYS = (
    "fields",
    "entity_checks",
    "shorthand_fields",
    "subschema_key",
    "subschema_error",
    "subschemas",
)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LABELS = ("name", "username")


class _Invalid(Exception):
    """A definition breaks a metaschema rule; the message names the key."""


def _strings(value: Any, key: str, *, required: bool = False) -> tuple[str, ...]:
    if value is None:
        if required:
            raise _Invalid(f"{key}: required field missing")
        return ()
    if value == {}:  # an empty Lua table
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"{key}: expected an array of strings")
    return tuple(value)


def _transformations(value: Any, fields: Mapping[str, Any]) -> tuple[Transformation, ...]:
    out = []
    for i, entry in enumerate(value or ()):
        where = f"transformations[{i}]"
        if not isinstance(entry, dict):
            raise _Invalid(f"{where}: expected a record")
        for key in ("input", "needs"):
            for path in _strings(entry.get(key), f"{where}.{key}"):
                if path.split(".", 1)[0] not in fields:
                    raise _Invalid(f"{where}.{key}: invalid field name: {path}")
        on_write = entry.get("on_write")
        if on_write is None:
            continue  # on_read only: entities are read from the snapshot as written
        if not callable(on_write):
            raise _Invalid(f"{where}.on_write: expected a function")
        out.append(
            Transformation(
                on_write, _strings(entry.get("input"), "input"), _strings(entry.get("needs"), "needs")
            )
        )
    return tuple(out)


def _check_keys(schema: Schema, definition: dict[str, Any], primary_key: tuple[str, ...]) -> None:
    fields = schema.fields
    for key in primary_key:
        if key not in fields:
            raise _Invalid(f"primary_key: '{key}' is not a field")
    endpoint_key = definition.get("endpoint_key")
    if endpoint_key is not None and endpoint_key not in fields:
        raise _Invalid("endpoint_key: value must be a field name")
    cache_key = _strings(definition.get("cache_key"), "cache_key")
    if any(key not in fields for key in cache_key):
        raise _Invalid("cache_key: values must be field names")
    if len(cache_key) == 1 and not fields[cache_key[0]].attrs.get("unique"):
        raise _Invalid("cache_key: a field used as a single cache key must be unique")


def _compile(name: str, definition: dict[str, Any]) -> Schema:
    unknown = sorted(str(k) for k in definition if k not in _KEYS)
    if unknown:
        raise _Invalid(f"{unknown[0]}: unknown field")
    record = {k: definition[k] for k in _SCHEMA_KEYS if definition.get(k) is not None}
    if definition.get("ttl"):
        fields = record.get("fields")
        if isinstance(fields, list):
            if any(isinstance(f, dict) and "ttl" in f for f in fields):
                raise _Invalid("ttl: ttl is a reserved field name when ttl is enabled")
            ttl = typedefs.ttl(description="Seconds until the entity expires (DB-backed Kong only).")
            record["fields"] = [*fields, {"ttl": ttl}]
    return Schema(record, name=name, entity=True)


def _secret(schema: Schema) -> tuple[str, ...]:
    """Fields that never feed an id or an error label: ``encrypted`` ones and generated strings."""
    return tuple(
        name
        for name, fdef in schema.fields.items()
        if fdef.attrs.get("encrypted")
        or (fdef.type == "string" and fdef.attrs.get("auto") and not fdef.attrs.get("uuid"))
    )


def entity_type(plugin: str, definition: Any, source: str) -> EntityType:
    """One schema of ``plugin``'s daos as an :class:`EntityType`; a bad one raises
    :class:`PluginLoadError` naming the plugin, ``source``, the entity and the key."""
    name = definition.get("name") if isinstance(definition, dict) else None
    where = f"schema '{name}': " if isinstance(name, str) else ""
    try:
        if not isinstance(definition, dict):
            raise _Invalid("each entity schema must be a table")
        if name is None:
            raise _Invalid("name: required field missing")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise _Invalid(f"name: invalid entity name {name!r}")
        primary_key = _strings(definition.get("primary_key"), "primary_key", required=True)
        schema = _compile(name, definition)
        _check_keys(schema, definition, primary_key)
        transformations = _transformations(definition.get("transformations"), schema.fields)
    except _Invalid as exc:
        raise PluginLoadError(plugin, source, f"invalid daos.lua: {where}{exc}") from None
    except SchemaDefinitionError as exc:  # the engine's message already names the schema
        raise PluginLoadError(plugin, source, f"invalid daos.lua: {exc}") from None
    cache_key = _strings(definition.get("cache_key"), "cache_key")
    endpoint_key = definition.get("endpoint_key")
    labels = [endpoint_key, *(k for k in cache_key if schema.fields[k].type != "foreign"), *_LABELS]
    return EntityType(
        name=name,
        schema=schema,
        endpoint_key=endpoint_key,
        cache_key=cache_key,
        label=tuple(dict.fromkeys(k for k in labels if k in schema.fields)),
        secret=_secret(schema),
        plugin=plugin,
        foreign=schema.foreign_fields(),
        primary_key=primary_key,
        workspaceable=bool(definition.get("workspaceable")),
        transformations=transformations,
    )


def check_plugin_entities(
    declared: Mapping[str, Iterable[EntityType]], sources: Mapping[str, str], loaded: Iterable[str]
) -> dict[str, PluginLoadError]:
    """Check the entity types of every loaded plugin together; returns the plugins that fail.

    ``declared`` maps plugin names (in load order) to their types, ``sources`` to
    their daos.lua and ``loaded`` names every loaded plugin.  A plugin fails when it
    declares a core entity, an entity another plugin owns (the credentials Moongate
    defines belong to their auth plugin), or refers to an entity that does not exist;
    a plugin whose entities refer to a failed plugin's fails too.
    """
    from host.config.credentials import CREDENTIALS

    core = {etype.name for etype in _core()}
    owners = {etype.name: etype.plugin for etype in CREDENTIALS}
    failed: dict[str, PluginLoadError] = {}

    def fail(plugin: str, entity: str, message: str) -> None:
        failed[plugin] = PluginLoadError(
            plugin, sources[plugin], f"invalid daos.lua: schema '{entity}': {message}"
        )

    for plugin, types in declared.items():
        for etype in types:
            owner = owners.get(etype.name)
            if etype.name in core:
                fail(plugin, etype.name, f"name: '{etype.name}' is a core entity")
            elif owner is not None and owner != plugin:
                fail(plugin, etype.name, f"name: '{etype.name}' is an entity of the '{owner}' plugin")
            if plugin in failed:
                break
            owners[etype.name] = plugin
    loaded = set(loaded)
    changed = True
    while changed:
        changed = False
        known = core | {n for n, p in owners.items() if p in loaded and p not in failed}
        for plugin, types in declared.items():
            bad = plugin not in failed and next(
                ((e, fk, ref) for e in types for fk, ref in e.foreign.items() if ref not in known), None
            )
            if bad:
                etype, fk, ref = bad
                fail(plugin, etype.name, f"{fk}: schema refers to an invalid foreign entity: {ref}")
                changed = True
    return failed


def declared_entity_types(registry: PluginRegistry) -> list[EntityType]:
    """The entity types the registry's plugins declare, plugin by plugin (by name)."""
    return [etype for name in registry.names() for etype in registry.get(name).extra.get(ENTITIES_KEY, ())]
