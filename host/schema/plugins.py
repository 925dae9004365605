"""Plugin entity schemas: Kong's ``plugins`` entity specialised by one plugin's schema.

Kong loads each plugin's ``schema.lua`` as a subschema of the ``plugins``
entity: the plugin may redefine the entity's own fields (``config``,
``protocols``, ``consumer``, ``route``, ``service``, ...) but may not add new
ones.  :func:`plugin_entity_schema` builds the merged :class:`Schema` once per
plugin; its ``to_kong()`` shows only the plugin's own fields, as Kong's
``/schemas/plugins/{name}`` does.
"""

from __future__ import annotations

from typing import Any

from host.schema import typedefs
from host.schema.messages import SchemaDefinitionError
from host.schema.schema import Schema

__all__ = ["plugin_entity_schema", "config_fields_to_definition", "plugin_base_fields", "scope_flags"]

scope_flags = typedefs.scope_flags

_ORDERING_PHASES = {"type": "string", "one_of": ["access"]}


def plugin_base_fields(plugin_name: str | None = None) -> list[dict[str, Any]]:
    """The fields of Kong's ``plugins`` entity, in Kong's order (``config`` still generic)."""
    name_field: dict[str, Any] = {
        "type": "string",
        "required": True,
        "description": "The name of the plugin.",
    }
    if plugin_name is not None:
        name_field["eq"] = plugin_name
    dependencies = {
        "type": "map",
        "keys": _ORDERING_PHASES,
        "values": {"type": "array", "elements": {"type": "string"}},
    }
    return [
        {"id": typedefs.uuid},
        {"name": name_field},
        {"instance_name": typedefs.utf8_name},
        {"created_at": typedefs.auto_timestamp_s},
        {"updated_at": typedefs.auto_timestamp_s},
        {"route": _scope("routes", "Only apply the plugin to requests matched by this route.")},
        {"service": _scope("services", "Only apply the plugin to requests proxied to this service.")},
        {"consumer": _scope("consumers", "Only apply the plugin when this consumer is authenticated.")},
        {"config": {"type": "record", "fields": [], "description": "The configuration of the plugin."}},
        {"protocols": typedefs.protocols},
        {
            "enabled": {
                "type": "boolean",
                "required": True,
                "default": True,
                "description": "Whether the plugin is applied.",
            }
        },
        {"tags": typedefs.tags},
        {
            "ordering": {
                "type": "record",
                "required": False,
                "fields": [{"before": dependencies}, {"after": dependencies}],
                "description": "Run this plugin before or after other plugins, per phase (dynamic ordering).",
            }
        },
    ]


def _scope(reference: str, description: str) -> dict[str, Any]:
    return {
        "type": "foreign",
        "reference": reference,
        "default": None,
        "on_delete": "cascade",
        "description": description,
    }


def config_fields_to_definition(name: str, fields: list[Any]) -> dict[str, Any]:
    """A plugin schema definition from a plain list of ``config`` fields (the Python plugin shorthand)."""
    if not isinstance(fields, list | tuple):
        raise SchemaDefinitionError(
            f"plugin '{name}': config fields must be a list of {{name: definition}} tables"
        )
    return {"name": name, "fields": [{"config": {"type": "record", "fields": list(fields)}}]}


def plugin_entity_schema(plugin_name: str, definition: dict[str, Any]) -> Schema:
    """Merge a plugin's schema definition into Kong's ``plugins`` entity and compile it.

    The plugin's top-level fields replace the entity's fields of the same name
    (its ``config`` record replaces the generic one); its ``entity_checks`` and
    ``shorthand_fields`` are added to the entity's.  A field the ``plugins``
    entity does not have raises :class:`SchemaDefinitionError`.
    """
    if not isinstance(plugin_name, str) or not plugin_name:
        raise SchemaDefinitionError("plugin name must be a non-empty string")
    if not isinstance(definition, dict) or not isinstance(definition.get("fields"), list | tuple):
        raise SchemaDefinitionError(f"plugin '{plugin_name}': error in schema definition: no 'fields' table")
    base = plugin_base_fields(plugin_name)
    index = {next(iter(item)): i for i, item in enumerate(base)}
    own: list[str] = []
    for item in definition["fields"]:
        if not isinstance(item, dict) or len(item) != 1:
            raise SchemaDefinitionError(
                f"plugin '{plugin_name}': each field must be a one-key table, got {item!r}"
            )
        ((fname, fdef),) = item.items()
        if fname not in index:
            raise SchemaDefinitionError(
                f"error in definition of '{plugin_name}': {fname}: cannot create a new field"
            )
        if fname == "name":
            raise SchemaDefinitionError(
                f"error in definition of '{plugin_name}': name: cannot redefine the plugin name"
            )
        base[index[fname]] = {fname: fdef}
        own.append(fname)
    merged: dict[str, Any] = {"name": plugin_name, "fields": base}
    if definition.get("entity_checks"):
        merged["entity_checks"] = list(definition["entity_checks"])
    if definition.get("shorthand_fields"):
        merged["shorthand_fields"] = list(definition["shorthand_fields"])
    schema = Schema(merged, name=plugin_name, entity=True)
    schema.export_fields = own
    return schema
