"""Kong's schema DSL for Moongate: one engine for core entities and plugin schemas.

A definition is Kong's ``schema.lua`` table written as Python data::

    Schema({"name": "my-plugin", "fields": [
        {"protocols": typedefs.protocols_http},
        {"config": {"type": "record", "fields": [
            {"minute": {"type": "number", "gt": 0}},
        ]}},
    ]})

``Schema.validate`` normalizes (shorthands, defaults) and validates with Kong's
messages; ``to_kong``/``to_json_schema`` export the same definition.
"""

from __future__ import annotations

from host.schema import typedefs
from host.schema.lua_pattern import LuaPatternError, lua_find, lua_to_regex
from host.schema.messages import SchemaDefinitionError
from host.schema.plugins import config_fields_to_definition, plugin_base_fields, plugin_entity_schema
from host.schema.schema import Schema, flatten_errors
from host.schema.typedefs import scope_flags

__all__ = [
    "Schema",
    "SchemaDefinitionError",
    "LuaPatternError",
    "flatten_errors",
    "typedefs",
    "plugin_entity_schema",
    "plugin_base_fields",
    "config_fields_to_definition",
    "scope_flags",
    "lua_find",
    "lua_to_regex",
]
