"""Load a Kong declarative configuration (``_format_version: "3.0"``) into a :class:`DeclarativeConfig`.

The whole file is checked before anything is returned: every error is
collected, with the file, the entity path and the field, and one
:class:`ConfigError` lists them all.  Steps: parse (JSON or YAML), check the
top-level keys, flatten nested entities, derive ids and resolve references,
validate each entity with its schema (defaults filled in), check uniqueness,
then apply Kong's write transformations.  The entity types are the core ones
plus those of the registry's plugins: the credentials of the auth plugins and
what a plugin declares in its ``daos.lua`` (:mod:`host.config.plugin_entities`),
all handled the same way.

Formats 1.1 and 2.1 are accepted and migrated like Kong does (regex-looking
route paths get the ``~`` prefix).  Timestamps: ``created_at`` keeps the value
written in the file, else :data:`FIXED_TIMESTAMP`; ``updated_at`` likewise, else
``created_at``; so loading the same file twice gives identical entities.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from host.config.certificates import cert_digest
from host.config.credentials import CREDENTIALS
from host.config.entities import EntityType, catalog
from host.config.errors import ConfigError, format_error
from host.config.flatten import INVALID, Item, flatten
from host.config.ids import entity_id
from host.config.model import CORE_ENTITIES, CREDENTIAL_ENTITIES, DeclarativeConfig
from host.config.parse import ParseError, migrate_route_paths, parse_text
from host.config.plugin_entities import declared_entity_types
from host.config.resolve import Index, assign
from host.config.transformations import apply_transformations
from host.config.unique import check_uniqueness
from host.config.upstreams import normalize_target
from host.config.validation_cache import ValidationCache
from host.plugins.spec import PluginRegistry, PluginSpec
from host.schema import Schema, flatten_errors, plugin_entity_schema
from host.schema.validators import VALIDATORS, is_reference

__all__ = ["load_file", "load_text", "load_data", "FIXED_TIMESTAMP", "FORMAT_VERSIONS"]

#: created_at/updated_at of entities whose file does not set them (stable across reloads)
FIXED_TIMESTAMP = 0
FORMAT_VERSIONS = ("1.1", "2.1", "3.0")
_META_KEYS = ("_format_version", "_transform", "_comment", "_ignore")
_UNSUPPORTED = ("workspaces", "vaults", "key_sets", "keys", "filter_chains", "parameters")
_PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"
_CREDENTIAL_PLUGINS = {etype.name: etype.plugin for etype in CREDENTIALS}
_RECORD_KEYS = ("fields", "entity_checks", "shorthand_fields")


def load_file(path: str | os.PathLike[str], registry: PluginRegistry) -> DeclarativeConfig:
    """Load a YAML or JSON file; error lines start with the file's base name."""
    source = os.path.basename(os.fspath(path))
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read file: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{source}: not valid UTF-8 (invalid byte at offset {exc.start})"]) from None
    return load_text(text, registry, source=source)


def load_text(text: str, registry: PluginRegistry, *, source: str = "<config>") -> DeclarativeConfig:
    """Load a declarative configuration from JSON or YAML text."""
    try:
        document = parse_text(text)
    except ParseError as exc:
        raise ConfigError([f"{source}: {exc}"]) from None
    return load_data(document, registry, source=source)


def load_data(
    data: Any, registry: PluginRegistry, *, source: str = "<config>", cache: ValidationCache | None = None
) -> DeclarativeConfig:
    """Load an already parsed configuration (e.g. the body of the Admin API's ``POST /config``).

    ``cache`` keeps schema validations between loads of nearly the same document (the
    Admin API's writes): an unchanged entity is not validated again; the result is the same.
    """
    loader = _Loader(registry, source, cache)
    if cache is None:
        return loader.load(data)
    cache.begin()
    try:
        config = loader.load(data)
    except BaseException:
        cache.abandon()
        raise
    cache.commit()
    return config


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (the document is empty)"
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)


def _field(path: str) -> str | None:
    if path == "@entity":
        return None
    return path[: -len(".@entity")] if path.endswith(".@entity") else path


class _Loader:
    def __init__(self, registry: PluginRegistry, source: str, cache: ValidationCache | None = None) -> None:
        self.registry = registry
        self.source = source
        self.cache = cache
        self._auto_uuid_fields: dict[int, list[str]] = {}  # by id(schema): schemas live in self.schemas
        self.errors: list[str] = []
        self.schemas: dict[int, Schema] = {}
        self._plugin_schemas: dict[str, Schema] = {}
        #: entity types a loaded plugin declares that a file cannot hold: name -> why
        self._undeclarable: dict[str, str] = {}

    def top_error(self, field: str | None, message: str, entity_path: str | None = None) -> None:
        self.errors.append(format_error(self.source, entity_path, None, field, message))

    # -- steps -----------------------------------------------------------------------------
    def load(self, data: Any) -> DeclarativeConfig:
        if not isinstance(data, dict):
            raise ConfigError([f"{self.source}: expected an object at the top level, got {_kind(data)}"])
        types = self._catalog()
        transform = self._check_meta(data, types)
        if data.get("_format_version") in ("1.1", "2.1"):
            data = copy.deepcopy(data)
            migrate_route_paths(data)
        structural: list[tuple[str, str | None, str]] = []
        items = flatten(data, types, structural)
        for path, field, message in structural:
            self.top_error(field, message, path or None)
        index = Index()
        assign(items, types, index)
        for item in items:
            self._validate(item)
        check_uniqueness(items, self.schemas, index)
        if transform:
            self._transform(items)
        for item in items:
            self.errors.extend(
                format_error(self.source, item.path, item.label, field, message)
                for field, message in item.errors
            )
        if self.errors:
            raise ConfigError(self.errors)
        self._link_snis(items)
        config = self._build(items, types)
        self._check_ordering(config)
        return config

    def _check_ordering(self, config: DeclarativeConfig) -> None:
        """Dynamic ordering rules must not form a cycle on any route (checked once, here)."""
        if not any(p.get("ordering") for p in config.plugins):
            return
        from host.plugins.iterator import PluginIterator
        from host.plugins.ordering import OrderingCycle

        plugins = PluginIterator(config.plugins, self.registry)
        for route in config.routes:
            service = route.get("service") or {}
            try:
                plugins.plan(route["id"], service.get("id") or "")
            except OrderingCycle as cycle:
                label = f"name={route['name']}" if route.get("name") else f"id={route['id']}"
                self.errors.append(
                    f"{self.source}: plugins ({', '.join(sorted(set(cycle.names)))}) on routes ({label}): "
                    f"ordering: cycle in access (each must run before the next): {' -> '.join(cycle.names)}"
                )
                break  # one message per configuration: the same rules usually cycle on many routes
        if self.errors:
            raise ConfigError(self.errors)

    def _catalog(self) -> dict[str, EntityType]:
        """Core entities, and those of the loaded plugins (an entity whose primary key is
        not ``id`` cannot be written in a file: Moongate derives and resolves ids)."""
        declared = []
        for etype in declared_entity_types(self.registry):
            if etype.primary_key == ("id",):
                declared.append(etype)
            else:
                key = ", ".join(etype.primary_key)
                self._undeclarable[etype.name] = f"its primary key is ({key}), not 'id'"
        return catalog(frozenset(self.registry.names()), declared)

    def _check_meta(self, data: dict[Any, Any], types: dict[str, EntityType]) -> bool:
        version = data.get("_format_version")
        if "_format_version" not in data or version is None:
            self.top_error("_format_version", "required field missing")
        elif not isinstance(version, str):
            hint = ""
            if isinstance(version, int | float) and not isinstance(version, bool):
                hint = f' (quote it: _format_version: "{version}")'
            self.top_error("_format_version", "expected a string" + hint)
        elif version not in FORMAT_VERSIONS:
            self.top_error("_format_version", "expected one of: " + ", ".join(FORMAT_VERSIONS))
        transform = data.get("_transform", True)
        if not isinstance(transform, bool):
            self.top_error("_transform", "expected a boolean")
            transform = True
        if data.get("_comment") is not None and not isinstance(data["_comment"], str):
            self.top_error("_comment", "expected a string")
        if data.get("_ignore") is not None and not isinstance(data["_ignore"], list):
            self.top_error("_ignore", "expected an array")
        for key in data:
            if key in _META_KEYS or key in types:
                continue
            message = "unknown field"
            if key in self._undeclarable:
                message += f" ('{key}' entities cannot be declared in a file: {self._undeclarable[key]})"
            elif key in _CREDENTIAL_PLUGINS:
                message += f" (entities of the '{_CREDENTIAL_PLUGINS[key]}' plugin, which is not enabled)"
            elif key in _UNSUPPORTED:
                message += f" ('{key}' is not supported by Moongate)"
            self.top_error(str(key), message)
        return transform

    def _schema_for(self, item: Item) -> Schema | None:
        if item.etype.schema is not None:
            return item.etype.schema
        name = item.raw.get("name")
        if name is None:
            item.error("name", "required field missing")
            return None
        if not isinstance(name, str):
            item.error("name", "expected a string")
            return None
        spec = self.registry.get(name)
        if spec is None:
            item.error("name", f"plugin '{name}' not enabled; add it to the 'plugins' configuration property")
            return None
        return self._plugin_schema(spec)

    def _plugin_schema(self, spec: PluginSpec) -> Schema:
        """The plugin entity schema of a spec; tolerates specs carrying a bare definition or config schema."""
        if isinstance(spec.schema, Schema) and "name" in spec.schema.fields:
            return spec.schema
        cached = self._plugin_schemas.get(spec.name)
        if cached is None and self.cache is not None:  # made by an earlier load, same spec
            cached = self.cache.derived_schema(spec)
        if cached is None:
            if isinstance(spec.schema, Schema):  # a schema of the config record alone
                record = {k: v for k, v in spec.schema.definition.items() if k in _RECORD_KEYS}
                definition = {"fields": [{"config": {"type": "record", **record}}]}
            elif isinstance(spec.schema, dict):
                definition = spec.schema
            else:  # no schema known: accept any config
                definition = {"fields": [{"config": {"type": "json"}}]}
            cached = plugin_entity_schema(spec.name, definition)
            if self.cache is not None:
                self.cache.keep_derived_schema(spec, cached)
        self._plugin_schemas[spec.name] = cached
        return cached

    def _validate(self, item: Item) -> None:
        schema = self._schema_for(item)
        if schema is None:
            return
        etype = item.etype
        payload = {k: v for k, v in item.raw.items() if k not in etype.foreign}
        payload["id"] = item.id
        for name in self._auto_uuids(schema):  # generated uuids: stable like ids
            if name not in payload:
                payload[name] = entity_id(etype.name, f"{item.id}:{name}")
        for fk in etype.foreign:
            if fk in item.refs:
                ref = item.refs[fk]
                valid = isinstance(ref, str) and ref != INVALID and _is_uuid(ref)
                payload[fk] = None if ref is None else {"id": ref if valid else _PLACEHOLDER_ID}
        cache = self.cache
        key = cached = None
        if cache is not None:
            key = cache.key(schema, payload)
            cached = cache.get(key) if key is not None else None
        if cached is not None:
            data, pairs = cached
        else:
            data, errors = schema.validate(payload)
            pairs = flatten_errors(errors)
            if key is not None:
                cache.put(key, schema, data, pairs)  # type: ignore[union-attr]
        for path, message in pairs:
            item.error(_field(path), message)
        failed = {field for field, _ in item.errors}
        if etype.name == "plugins":
            self._check_scope(item, data, failed)
        self._timestamps(item, schema, data, failed)
        if etype.name == "targets" and "target" not in failed and isinstance(data.get("target"), str):
            data["target"] = normalize_target(data["target"])
        if etype.name == "ca_certificates" and not failed and not is_reference(data["cert"]):
            data["cert_digest"] = cert_digest(data["cert"])  # before the uniqueness checks
        item.data = data
        self.schemas[id(item)] = schema

    def _auto_uuids(self, schema: Schema) -> list[str]:
        """The schema's ``auto`` uuid fields other than ``id`` (looked up once per schema)."""
        found = self._auto_uuid_fields.get(id(schema))
        if found is None:
            found = self._auto_uuid_fields[id(schema)] = [
                name
                for name, fdef in schema.fields.items()
                if name != "id" and fdef.attrs.get("auto") and fdef.attrs.get("uuid")
            ]
        return found

    def _check_scope(self, item: Item, data: dict[str, Any], failed: set[str | None]) -> None:
        spec = self.registry.get(item.raw["name"])
        for flag, fk in (
            (spec.no_consumer, "consumer"),
            (spec.no_route, "route"),
            (spec.no_service, "service"),
        ):
            if flag and data.get(fk) is not None and fk not in failed:
                item.error(fk, "value must be null")

    @staticmethod
    def _timestamps(item: Item, schema: Schema, data: dict[str, Any], failed: set[str | None]) -> None:
        """Keep the file's timestamps, else use FIXED_TIMESTAMP: never the load time."""
        created = schema.fields.get("created_at")
        if created is None:
            return
        integer = created.type == "integer"
        fixed: int | float = FIXED_TIMESTAMP if integer else float(FIXED_TIMESTAMP)
        if item.raw.get("created_at") is None or "created_at" in failed:
            data["created_at"] = fixed
        if "updated_at" in schema.fields:
            # like Kong, updated_at is not validated: a usable value is kept, anything else ignored
            given = item.raw.get("updated_at")
            if isinstance(given, int | float) and not isinstance(given, bool) and given > 0:
                data["updated_at"] = int(given) if integer else given
            else:
                data["updated_at"] = data["created_at"]

    @staticmethod
    def _transform(items: list[Item]) -> None:
        """Kong's write transformations (``_transform: true``) on every valid entity."""
        for item in items:
            if item.data is not None and item.etype.transformations and not item.errors:
                err = apply_transformations(item.etype.transformations, item.data)
                if err is not None:
                    item.error(None, err)

    @staticmethod
    def _link_snis(items: list[Item]) -> None:
        snis: dict[str, list[str]] = {}
        for item in items:
            if item.entity == "snis":
                assert item.data is not None
                snis.setdefault(item.data["certificate"]["id"], []).append(item.data["name"])
        for item in items:
            if item.entity == "certificates" and item.data is not None:
                item.data["snis"] = sorted(snis.get(item.data["id"], []))

    def _build(self, items: list[Item], types: dict[str, EntityType]) -> DeclarativeConfig:
        lists: dict[str, list[dict[str, Any]]] = {name: [] for name in CORE_ENTITIES}
        plugin_entities = dict.fromkeys(CREDENTIAL_ENTITIES) | dict.fromkeys(
            t for t in types if t not in lists
        )
        credentials: dict[str, list[dict[str, Any]]] = {name: [] for name in plugin_entities}
        for item in items:
            target = lists if item.entity in lists else credentials
            target[item.entity].append(item.data)  # type: ignore[arg-type]
        return DeclarativeConfig(source=self.source, credentials=credentials, **lists)  # type: ignore[arg-type]


def _is_uuid(value: str) -> bool:
    return VALIDATORS["uuid"](value, True)[0]
