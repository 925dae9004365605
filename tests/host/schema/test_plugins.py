"""Plugin entity schemas: merging into Kong's plugins entity, defaults, scope flags."""

from __future__ import annotations

from typing import Any

import pytest

from host.schema import (
    Schema,
    SchemaDefinitionError,
    config_fields_to_definition,
    plugin_base_fields,
    plugin_entity_schema,
    scope_flags,
    typedefs,
)

RATE_LIMITING: dict[str, Any] = {
    "name": "rate-limiting",
    "fields": [
        {"consumer": typedefs.no_consumer},
        {"protocols": typedefs.protocols_http},
        {
            "config": {
                "type": "record",
                "fields": [
                    {"second": {"type": "number", "gt": 0, "description": "Requests per second."}},
                    {"minute": {"type": "number", "gt": 0, "description": "Requests per minute."}},
                    {"policy": {"type": "string", "default": "local", "one_of": ["local", "redis"]}},
                    {"header_name": typedefs.header_name({"default": "X-Foo"})},
                ],
                "entity_checks": [{"at_least_one_of": ["second", "minute"]}],
                "custom_validator": lambda config: True,
            }
        },
    ],
}


@pytest.fixture
def schema() -> Schema:
    return plugin_entity_schema("rate-limiting", RATE_LIMITING)


def test_entity_fields_in_kong_order(schema: Schema) -> None:
    assert list(schema.fields) == [
        "id", "name", "instance_name", "created_at", "updated_at", "route", "service", "consumer",
        "config", "protocols", "enabled", "tags", "ordering",
    ]  # fmt: skip
    assert [next(iter(f)) for f in plugin_base_fields()] == list(schema.fields)


def test_defaults_of_a_plugin_entity(schema: Schema) -> None:
    data, errors = schema.validate({"name": "rate-limiting", "config": {"minute": 10}}, auto=False)
    assert errors == {}
    assert data == {
        "id": None,
        "name": "rate-limiting",
        "instance_name": None,
        "created_at": None,
        "updated_at": None,
        "route": None,
        "service": None,
        "consumer": None,
        "config": {"second": None, "minute": 10, "policy": "local", "header_name": "X-Foo"},
        "protocols": ["grpc", "grpcs", "http", "https"],
        "enabled": True,
        "tags": None,
        "ordering": None,
    }


def test_missing_config_is_expanded_then_checked(schema: Schema) -> None:
    data, errors = schema.validate({"name": "rate-limiting"})
    assert data["config"]["policy"] == "local"
    assert errors == {
        "config": {"@entity": ["at least one of these fields must be non-empty: 'second', 'minute'"]}
    }


def test_plugin_rules_apply(schema: Schema) -> None:
    _, errors = schema.validate(
        {
            "name": "rate-limiting",
            "consumer": {"id": "3a0b5f6e-0cbd-4e54-9d3e-1d6e0c1a3f9a"},
            "protocols": ["tcp"],
            "config": {"minute": "x", "policy": "memory", "bogus": 1},
        }
    )
    assert errors == {
        "consumer": "value must be null",
        "config": {
            "minute": "expected a number",
            "policy": "expected one of: local, redis",
            "bogus": "unknown field",
        },
        "protocols": {0: "expected one of: grpc, grpcs, http, https"},
    }


def test_the_name_is_pinned(schema: Schema) -> None:
    assert schema.validate({"name": "other", "config": {"minute": 1}})[1] == {
        "name": "value must be rate-limiting"
    }


def test_scope_flags(schema: Schema) -> None:
    assert scope_flags(schema) == (True, False, False)
    plain = plugin_entity_schema("plain", config_fields_to_definition("plain", []))
    assert scope_flags(plain) == (False, False, False)


def test_python_plugins_may_give_config_fields_only() -> None:
    definition = config_fields_to_definition(
        "greeter", [{"greeting": {"type": "string", "default": "hi", "description": "What to say."}}]
    )
    assert definition == {
        "name": "greeter",
        "fields": [
            {
                "config": {
                    "type": "record",
                    "fields": [
                        {"greeting": {"type": "string", "default": "hi", "description": "What to say."}}
                    ],
                }
            }
        ],
    }
    schema = plugin_entity_schema("greeter", definition)
    assert schema.defaults()["config"] == {"greeting": "hi"}
    assert schema.defaults()["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_plugin_top_level_entity_checks_see_config() -> None:
    definition = {
        "fields": [{"config": {"type": "record", "fields": [{"a": {"type": "string"}}]}}],
        "entity_checks": [
            {
                "conditional": {
                    "if_field": "enabled",
                    "if_match": {"eq": True},
                    "then_field": "config.a",
                    "then_match": {"required": True},
                }
            }
        ],
    }
    schema = plugin_entity_schema("p", definition)
    assert schema.validate({"name": "p", "enabled": False})[1] == {}
    assert schema.validate({"name": "p"})[1] == {
        "config": {"a": "required field missing"},
        "@entity": ["failed conditional validation given value of field 'enabled'"],
    }


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            {"fields": [{"colour": {"type": "string"}}]},
            "error in definition of 'p': colour: cannot create a new field",
        ),
        ({"fields": [{"name": {"type": "string"}}]}, "cannot redefine the plugin name"),
        ({"nofields": []}, "no 'fields' table"),
        (
            {"fields": [{"config": {"type": "record", "fields": [{"x": {"type": "nope"}}]}}]},
            "config.x: invalid type: nope",
        ),
    ],
)
def test_bad_plugin_definitions(definition: dict, message: str) -> None:
    with pytest.raises(SchemaDefinitionError, match=message.replace(".", r"\.")):
        plugin_entity_schema("p", definition)


def test_config_fields_must_be_a_list() -> None:
    with pytest.raises(SchemaDefinitionError, match="must be a list"):
        config_fields_to_definition("p", {"a": {"type": "string"}})  # type: ignore[arg-type]


def test_ordering_field() -> None:
    schema = plugin_entity_schema("p", {"fields": []})
    ok = {"name": "p", "ordering": {"before": {"access": ["rate-limiting"]}}}
    assert schema.validate(ok)[1] == {}
    assert schema.validate({"name": "p", "ordering": {"before": {"log": ["x"]}}})[1] == {
        "ordering": {"before": "expected one of: access"}
    }
