"""Reading a Lua plugin's ``daos.lua`` into :class:`~host.config.entities.EntityType` objects.

``daos.lua`` runs in the plugin's environment (so it may ``require`` typedefs and
its own modules) and returns its entity schemas in either of Kong's styles::

    return { { name = "my_tokens", primary_key = { "id" }, fields = { ... } } }   -- Kong 3.x
    return { my_tokens = { name = "my_tokens", primary_key = { "id" }, ... } }   -- Kong 2.x

(in the keyed style ``name`` may be left out: the key names the entity).

Where it runs follows the plugin's trust level: a trusted plugin's daos.lua is a module
of the plugin (its environment, the worker's runtime); a sandboxed or isolated
plugin's runs in its sandboxed runtime (for an isolated plugin: the gateway's
sandboxed runtime that holds its schema), in a data-only environment (Kong's ``lua``
globals, ``ngx.null`` and the allowed ``require`` s: no ``kong``, no I/O) under the
sandbox's load-time CPU budget (``H.sandbox_daos`` in ``sandbox_env.lua``).  Each
schema table is converted like ``schema.lua`` (:class:`host.lua.schema.LuaSchemaConverter`:
typedefs become the engine's own, Lua functions such as ``custom_validator`` or a
transformation's ``on_write`` become callables) and compiled by
:func:`host.config.plugin_entities.entity_type`.  The result is kept per runtime
and plugin (``host.state``), so the declarative loader and ``kong.db`` share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lupa.luajit21 import LuaError, LuaMemoryError, lua_type

from host.config.entities import EntityType
from host.config.plugin_entities import ENTITIES_KEY, check_plugin_entities, entity_type
from host.plugins.spec import PluginLoadError, PluginRegistry

__all__ = ["daos_file", "load_daos", "load_plugin_entities", "DECLARED_KEY"]

_STATE_KEY = "plugin_entities"
#: ``host.state`` key: the entity types of the plugins that loaded, once the registry is built
DECLARED_KEY = "declared_entities"


def daos_file(folder: Path) -> Path | None:
    """The plugin's ``daos.lua`` (or ``daos/init.lua``), when it has one."""
    for candidate in (folder / "daos.lua", folder / "daos" / "init.lua"):
        if candidate.is_file():
            return candidate
    return None


def _text(err: Any) -> str:
    if isinstance(err, LuaMemoryError) and not str(err):
        return "not enough memory"
    return str(err).split("\nstack traceback:", 1)[0]


def _schema_tables(host: Any, plugin: str, source: str, daos: Any) -> list[tuple[str | None, Any]]:
    """(key in the keyed style, schema table) of every entity, in a stable order."""
    kind = lua_type(daos)
    if kind != "table":
        names = {bytes: "string", bool: "boolean", int: "number", float: "number", type(None): "nil"}
        got = kind or names.get(daos.__class__, "userdata")
        raise PluginLoadError(plugin, source, f"daos.lua must return a table of entity schemas, got {got}")
    items = list(daos.items())
    keys = [k for k, _ in items]
    if all(k.__class__ is int for k in keys) and sorted(keys) == list(range(1, len(keys) + 1)):
        return [(None, value) for _, value in sorted(items, key=lambda kv: kv[0])]
    if all(k.__class__ is bytes for k in keys):
        return [(k.decode("utf-8", "replace"), value) for k, value in sorted(items, key=lambda kv: kv[0])]
    raise PluginLoadError(
        plugin,
        source,
        "daos.lua must return an array of entity schemas (or, Kong 2.x style, a table of them by name)",
    )


def _evaluate(host: Any, plugin: str, source: str) -> Any:
    """What daos.lua returns: a module of a trusted plugin, or run in a sandboxed
    runtime's data-only environment (the caller holds ``host.loading()``)."""
    from host.lua.sandbox import SandboxedHost

    if not isinstance(host, SandboxedHost):
        return host.H.load_module(f"kong.plugins.{plugin}.daos".encode())
    path = Path(source)
    return host.H.sandbox_daos(plugin.encode(), path.read_bytes(), f"@{path}".encode())


def _read(host: Any, plugin: str, source: str) -> tuple[EntityType, ...]:
    from host.lua.sandbox import SandboxViolation

    try:
        with host.loading():
            return _convert(host, plugin, source)
    except SandboxViolation as exc:
        raise PluginLoadError(plugin, source, f"daos.lua: {exc.detail}") from None


def _convert(host: Any, plugin: str, source: str) -> tuple[EntityType, ...]:
    from host.lua.sandbox import SandboxedHost
    from host.lua.schema import LuaSchemaConverter

    try:
        daos = _evaluate(host, plugin, source)
    except LuaError as exc:
        if isinstance(exc, LuaMemoryError) and isinstance(host, SandboxedHost):
            host.clean()  # its garbage collected; replaced if still full
        raise PluginLoadError(plugin, source, _text(exc)) from None
    converter = LuaSchemaConverter(host, plugin)
    types: list[EntityType] = []
    for key, table in _schema_tables(host, plugin, source, daos):
        where = f"schema '{key}': " if key else ""
        if lua_type(table) != "table":
            raise PluginLoadError(
                plugin, source, f"invalid daos.lua: {where}each entity schema must be a table"
            )
        try:
            definition = converter.schema(table)
        except Exception as exc:  # noqa: BLE001 - a malformed table: named by its path
            raise PluginLoadError(plugin, source, f"invalid daos.lua: {where}{_text(exc)}") from None
        if key is not None:
            name = definition.setdefault("name", key)
            if name != key:
                message = f"schema '{key}': name: '{name}' differs from its key"
                raise PluginLoadError(plugin, source, f"invalid daos.lua: {message}")
        types.append(entity_type(plugin, definition, source))
    names = [etype.name for etype in types]
    for name in names:
        if names.count(name) > 1:
            raise PluginLoadError(plugin, source, f"invalid daos.lua: schema '{name}': declared twice")
    return tuple(types)


def load_daos(host: Any, plugin: str, folder: Path) -> tuple[EntityType, ...]:
    """The entity types ``plugin`` (its folder registered in ``host``) declares; () without daos.lua.

    Raises :class:`PluginLoadError` naming the plugin and file for a daos.lua that
    fails to run or declares an invalid schema.  Read once per runtime and plugin.
    """
    cache: dict[tuple[str, str], tuple[EntityType, ...] | PluginLoadError]
    cache = host.state.setdefault(_STATE_KEY, {})
    known = cache.get((plugin, str(folder)))
    if known is None:
        path = daos_file(folder)
        try:
            known = () if path is None else _read(host, plugin, str(path))
        except PluginLoadError as exc:
            known = exc
        cache[(plugin, str(folder))] = known
    if isinstance(known, PluginLoadError):
        raise known
    return known


def _runtime_of(spec: Any, trusted: Any) -> tuple[Any, Path] | None:
    """(runtime, folder) where ``spec``'s daos.lua is read: the worker's runtime for a
    trusted plugin (``extra["folder"]``), else the sandboxed runtime its spec names
    (``extra["daos_host"]``: a runtime, or a :class:`~host.lua.trust.Sandbox` whose
    current runtime is used; ``extra["daos_folder"]``)."""
    extra = spec.extra
    if "folder" in extra:
        return None if trusted is None else (trusted, Path(extra["folder"]))
    owner, folder = extra.get("daos_host"), extra.get("daos_folder")
    if owner is None or folder is None:
        return None
    from host.lua.trust import Sandbox

    runtime = owner.host if isinstance(owner, Sandbox) else owner
    return None if runtime is None else (runtime, Path(folder))


def load_plugin_entities(registry: PluginRegistry) -> dict[str, PluginLoadError]:
    """Read the daos.lua of every Lua plugin of ``registry`` and check them together.

    The entity types of each plugin that passes go to its spec's
    ``extra["entities"]``; the others are returned by plugin name (the caller
    leaves those plugins out, as for any plugin that fails to load).
    """
    host = registry.lua
    declared: dict[str, tuple[EntityType, ...]] = {}
    sources: dict[str, str] = {}
    failed: dict[str, PluginLoadError] = {}
    for name in registry.names():
        spec = registry.get(name)
        if spec is None or spec.language != "lua":
            continue
        where = _runtime_of(spec, host)
        if where is None:
            continue
        runtime, folder = where
        runtime.register_plugin_dir(name, folder)  # the folder that won, should a same-named one follow
        try:
            types = load_daos(runtime, name, folder)
        except PluginLoadError as exc:
            failed[name] = exc
            continue
        if types:
            declared[name], sources[name] = types, str(daos_file(folder))
    failed.update(check_plugin_entities(declared, sources, registry.names()))
    accepted: list[EntityType] = []
    for name, types in declared.items():
        if name not in failed:
            registry.get(name).extra[ENTITIES_KEY] = types  # type: ignore[union-attr]
            accepted.extend(types)
    if host is not None:
        from host.lua.modules.moongate_db import DAOS_SCHEMAS_KEY  # kong.db imports this module

        host.state[DECLARED_KEY] = accepted  # what kong.db serves (host/lua/modules/moongate_db.py)
        host.state.pop(DAOS_SCHEMAS_KEY, None)
    return failed
