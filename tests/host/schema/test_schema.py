"""Shorthand fields, subschemas, definition errors and error flattening."""

from __future__ import annotations

from typing import Any

import pytest

from host.schema import Schema, SchemaDefinitionError, flatten_errors, typedefs


class TestShorthands:
    def test_func_maps_the_alias_onto_new_fields(self) -> None:
        schema = Schema(
            {
                "fields": [{"host": {"type": "string"}}, {"port": {"type": "integer", "default": 80}}],
                "shorthand_fields": [
                    {
                        "address": {
                            "type": "string",
                            "func": lambda v: {"host": v.split(":")[0], "port": int(v.split(":")[1])},
                        }
                    }
                ],
            }
        )
        assert schema.validate({"address": "example.com:8080"}) == ({"host": "example.com", "port": 8080}, {})

    def test_shorthand_value_is_type_checked(self) -> None:
        schema = Schema(
            {
                "fields": [{"a": {"type": "string"}}],
                "shorthand_fields": [{"old": {"type": "string", "func": lambda v: {"a": v}}}],
            }
        )
        assert schema.validate({"old": 5})[1] == {"old": "expected a string"}

    def test_table_results_are_merged_into_records(self) -> None:
        redis = {
            "type": "record",
            "fields": [{"host": {"type": "string"}}, {"port": {"type": "integer", "default": 6379}}],
        }
        schema = Schema(
            {
                "fields": [{"redis": redis}],
                "shorthand_fields": [
                    {"redis_host": {"type": "string", "func": lambda v: {"redis": {"host": v}}}}
                ],
            },
            entity=True,
        )
        data, errors = schema.validate({"redis_host": "r1", "redis": {"port": 1}})
        assert errors == {} and data == {"redis": {"host": "r1", "port": 1}}

    def test_deprecated_alias_with_replaced_with_path_and_no_func(self) -> None:
        redis = {"type": "record", "fields": [{"host": {"type": "string"}}]}
        deprecation = {
            "message": "use redis.host",
            "removal_in_version": "4.0",
            "replaced_with": [{"path": ["redis", "host"]}],
        }
        schema = Schema(
            {
                "fields": [{"redis": redis}],
                "shorthand_fields": [{"redis_host": {"type": "string", "deprecation": deprecation}}],
            },
            entity=True,
        )
        assert schema.validate({"redis_host": "r1"}) == ({"redis": {"host": "r1"}}, {})
        assert schema.validate({"redis_host": "r1", "redis": {"host": "r1"}})[1] == {}
        assert schema.validate({"redis_host": "r1", "redis": {"host": "r2"}})[1] == {
            "redis_host": "both deprecated and new field are used but their values mismatch: redis_host = r1 vs redis.host = r2"
        }

    def test_shorthands_apply_in_nested_records(self) -> None:
        config = {
            "type": "record",
            "fields": [{"minute": {"type": "number"}}],
            "shorthand_fields": [{"per_minute": {"type": "number", "func": lambda v: {"minute": v}}}],
        }
        schema = Schema({"fields": [{"config": config}]}, entity=True)
        assert schema.validate({"config": {"per_minute": 5}}) == ({"config": {"minute": 5}}, {})
        assert schema.validate({"config": {"per_minute": "x"}})[1] == {
            "config": {"per_minute": "expected a number"}
        }


class TestSubschemas:
    DEFINITION: dict[str, Any] = {
        "fields": [
            {"kind": {"type": "string", "required": True}},
            {"size": {"type": "integer", "default": 1}},
            {"label": {"type": "string"}},
        ],
        "subschema_key": "kind",
        "subschema_error": "kind '%s' is not supported",
        "subschemas": {
            "big": {
                "fields": [{"size": {"type": "integer", "default": 100, "gt": 10}}],
                "entity_checks": [{"at_least_one_of": ["label"]}],
            },
            "small": {"fields": []},
        },
    }

    def test_subschema_specialises_fields_and_adds_checks(self) -> None:
        schema = Schema(self.DEFINITION)
        assert schema.validate({"kind": "small"}) == ({"kind": "small", "size": 1, "label": None}, {})
        data, errors = schema.validate({"kind": "big", "size": 5})
        assert errors == {
            "size": "value must be greater than 10",
            "@entity": ["at least one of these fields must be non-empty: 'label'"],
        }
        assert schema.validate({"kind": "big", "label": "x"})[0]["size"] == 100

    def test_missing_or_unknown_subschema_key(self) -> None:
        schema = Schema(self.DEFINITION)
        assert schema.validate({})[1] == {"kind": "required field missing"}
        assert schema.validate({"kind": "huge"})[1] == {"kind": "kind 'huge' is not supported"}

    def test_subschema_cannot_add_fields(self) -> None:
        bad = dict(self.DEFINITION, subschemas={"x": {"fields": [{"extra": {"type": "string"}}]}})
        with pytest.raises(SchemaDefinitionError, match="extra: cannot create a new field"):
            Schema(bad)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({}, "no 'fields' table"),
        ({"fields": [{"a": {"typ": "string"}}]}, "a: missing attribute 'type'"),
        ({"fields": [{"a": {"type": "strng"}}]}, "a: invalid type: strng"),
        ({"fields": [{"a": {"type": "string", "requried": True}}]}, "a: unknown attribute 'requried'"),
        (
            {"fields": [{"a": {"type": "integer", "match": "^%d$"}}]},
            "a: field of type 'integer' cannot have attribute 'match'",
        ),
        (
            {"fields": [{"a": {"type": "string", "gt": 1}}]},
            "a: field of type 'string' cannot have attribute 'gt'",
        ),
        (  # a nested definition the type does not use is still checked (Kong's metaschema)
            {"fields": [{"a": {"type": "string", "elements": {"typ": "string"}}}]},
            "a.elements: missing attribute 'type'",
        ),
        ({"fields": [{"a": {"type": "array"}}]}, "a: field of type 'array' must declare 'elements'"),
        ({"fields": [{"a": {"type": "map", "keys": {"type": "string"}}}]}, "must declare 'values'"),
        ({"fields": [{"a": {"type": "record"}}]}, "a: field of type 'record' must declare 'fields'"),
        ({"fields": [{"a": {"type": "foreign"}}]}, "must declare 'reference'"),
        (
            {"fields": [{"a": {"type": "integer", "between": [1]}}]},
            "invalid argument for validator 'between'",
        ),
        ({"fields": [{"a": {"type": "string", "one_of": "abc"}}]}, "invalid argument for validator 'one_of'"),
        (
            {"fields": [{"a": {"type": "string", "custom_validator": "nope"}}]},
            "invalid argument for validator 'custom_validator'",
        ),
        ({"fields": [{"a": {"type": "string", "match": "[a"}}]}, "invalid Lua pattern '[a' in 'match'"),
        ({"fields": [{"a": {"type": "string", "default": 5}}]}, "a: invalid default 5: expected a string"),
        ({"fields": [{"a": {"type": "string"}}, {"a": {"type": "string"}}]}, "a: duplicate field name"),
        ({"fields": [{"a": {"type": "string"}, "b": {"type": "string"}}]}, "one-key table"),
        (
            {"fields": [{"a": {"type": "string"}}], "entity_checks": [{"at_least_one": ["a"]}]},
            "unknown entity check 'at_least_one'",
        ),
        (
            {"fields": [{"a": {"type": "string"}}], "entity_checks": [{"at_least_one_of": ["a", "zz"]}]},
            "refers to unknown field 'zz'",
        ),
        (
            {"fields": [{"a": {"type": "string"}}], "entity_checks": [{"conditional": {"if_field": "a"}}]},
            "expected a table with",
        ),
        (
            {"fields": [{"a": {"type": "string"}}], "shorthand_fields": [{"old": {"type": "string"}}]},
            "needs a 'func'",
        ),
    ],
)
def test_malformed_definitions_are_rejected_with_the_field_path(definition: dict, message: str) -> None:
    with pytest.raises(SchemaDefinitionError, match=_escape(message)):
        Schema(definition)


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_definition_error_names_nested_paths_and_the_schema() -> None:
    definition = {
        "name": "my-plugin",
        "fields": [{"config": {"type": "record", "fields": [{"ttl": {"type": "integr"}}]}}],
    }
    with pytest.raises(SchemaDefinitionError, match=r"schema 'my-plugin': config\.ttl: invalid type: integr"):
        Schema(definition)


def test_flatten_errors_paths() -> None:
    errors = {
        "config": {
            "minute": "expected a number",
            "@entity": ["at least one of these fields must be non-empty: 'a'"],
        },
        "paths": {0: "should start with: /", 2: "must not have empty segments"},
        "sources": {1: {"ip": "invalid ip or cidr range: 'x'"}},
        "@entity": ["top-level problem"],
    }
    assert flatten_errors(errors) == [
        ("config.minute", "expected a number"),
        ("config.@entity", "at least one of these fields must be non-empty: 'a'"),
        ("paths[0]", "should start with: /"),
        ("paths[2]", "must not have empty segments"),
        ("sources[1].ip", "invalid ip or cidr range: 'x'"),
        ("@entity", "top-level problem"),
    ]


def test_errors_are_ordered_fields_first_then_unknown_then_entity() -> None:
    schema = Schema(
        {
            "fields": [{"a": {"type": "string"}}, {"b": {"type": "integer"}}],
            "entity_checks": [{"at_least_one_of": ["a"]}],
        }
    )
    _, errors = schema.validate({"zz": 1, "b": "x"})
    assert list(errors) == ["b", "zz", "@entity"]


def test_introspection() -> None:
    schema = Schema(
        {
            "name": "x",
            "fields": [{"name": typedefs.utf8_name}, {"svc": {"type": "foreign", "reference": "services"}}],
        }
    )
    assert schema.unique_fields() == ["name"]
    assert schema.foreign_fields() == {"svc": "services"}
    assert schema.field("svc").type == "foreign"
    assert list(schema) == ["name", "svc"]
    assert "x" in repr(schema)
