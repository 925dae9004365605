"""schema.lua -> the schema engine (placeholder: plain data only; see the full version)."""

from __future__ import annotations

from typing import Any

from host.plugins.spec import PluginLoadError


def lua_schema_definition(host: Any, name: str, source: str, table: Any) -> Any:
    from host.schema import plugin_entity_schema

    definition = host.to_python(table)
    try:
        return plugin_entity_schema(name, definition)
    except Exception as exc:  # noqa: BLE001
        raise PluginLoadError(name, source, f"invalid schema: {exc}") from exc
