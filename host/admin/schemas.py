"""``/schemas/...``: entity and plugin schemas from the objects the validator uses.

The plugin entity schema of a plugin comes from the declarative loader itself
(the same construction, whether the plugin is Lua or Python), so what
``/schemas/plugins/{name}`` shows and ``/schemas/plugins/validate`` checks is
exactly what a write or a file is validated with.
"""

from __future__ import annotations

import weakref
from typing import Any

from aiohttp import web

from host.admin.body import read_body
from host.admin.errors import AdminError, not_found, schema_violation
from host.config.entities import EntityType
from host.plugins.spec import PluginRegistry
from host.schema import Schema

__all__ = ["entity_schema", "plugin_schema", "routes"]

#: registry -> plugin name -> plugin entity schema (built once per registry)
_CACHE: weakref.WeakKeyDictionary[PluginRegistry, dict[str, Schema]] = weakref.WeakKeyDictionary()


def plugin_schema(registry: PluginRegistry, name: str) -> Schema | None:
    """The plugin entity schema the loader validates ``name``'s plugins with (None: unknown)."""
    spec = registry.get(name)
    if spec is None:
        return None
    from host.config.loader import _Loader  # the loader's own construction, not a copy

    cache = _CACHE.setdefault(registry, {})
    schema = cache.get(name)
    if schema is None:
        schema = cache[name] = _Loader(registry, "admin")._plugin_schema(spec)
    return schema


def entity_schema(registry: PluginRegistry, etype: EntityType, plugin: Any = None) -> Schema | None:
    """The schema of an entity type; for plugins, that of the named plugin."""
    if etype.schema is not None:
        return etype.schema
    return plugin_schema(registry, plugin) if isinstance(plugin, str) else None


def routes(app: web.Application, registry: PluginRegistry, types: dict[str, EntityType]) -> None:
    """Register the schema endpoints on ``app``."""

    async def plugin(request: web.Request) -> web.Response:
        schema = plugin_schema(registry, request.match_info["name"])
        if schema is None:
            raise AdminError(404, {"message": f"No plugin named '{request.match_info['name']}'"})
        return web.json_response(schema.to_kong())

    async def validate_plugin(request: web.Request) -> web.Response:
        body = await read_body(request)
        name = body.get("name")
        schema = plugin_schema(registry, name) if isinstance(name, str) else None
        if schema is None:
            message = (
                "required field missing"
                if name is None
                else (f"plugin '{name}' not enabled; add it to the 'plugins' configuration property")
            )
            raise schema_violation({"name": message})
        _, errors = schema.validate(body)
        if errors:
            raise schema_violation(errors)
        return web.json_response({"message": "schema validation successful"})

    async def entity(request: web.Request) -> web.Response:
        etype = types.get(request.match_info["entity"])
        if etype is None or etype.schema is None:
            raise not_found()
        return web.json_response(etype.schema.to_kong())

    async def validate_entity(request: web.Request) -> web.Response:
        etype = types.get(request.match_info["entity"])
        if etype is None or etype.schema is None:
            raise not_found()
        body = await read_body(request)
        _, errors = etype.schema.validate(body)
        if errors:
            raise schema_violation(errors)
        return web.json_response({"message": "schema validation successful"})

    app.router.add_post("/schemas/plugins/validate", validate_plugin)
    app.router.add_get("/schemas/plugins/{name}", plugin)
    app.router.add_get("/plugins/schema/{name}", plugin)  # Kong's deprecated path
    app.router.add_post("/schemas/{entity}/validate", validate_entity)
    app.router.add_get("/schemas/{entity}", entity)
