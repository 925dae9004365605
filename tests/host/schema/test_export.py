"""Export: Kong's /schemas/plugins/{name} JSON and JSON Schema (checked with the jsonschema package)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from host.schema import Schema, plugin_entity_schema, typedefs

PLUGIN: dict[str, Any] = {
    "fields": [
        {"consumer": typedefs.no_consumer},
        {"protocols": typedefs.protocols_http},
        {
            "config": {
                "type": "record",
                "fields": [
                    {"minute": {"type": "number", "gt": 0}},
                    {"policy": {"type": "string", "default": "local", "one_of": ["local", "redis"]}},
                    {"header_name": typedefs.header_name({"default": "X-Foo"})},
                    {
                        "limits": {
                            "type": "map",
                            "keys": {"type": "string"},
                            "values": {"type": "integer", "between": [1, 10]},
                        }
                    },
                    {"paths": {"type": "array", "elements": typedefs.path, "len_min": 1}},
                ],
                "entity_checks": [
                    {"at_least_one_of": ["minute", "limits"]},
                    {"custom_entity_check": {"field_sources": ["minute"], "fn": lambda e: True}},
                ],
                "shorthand_fields": [{"per_minute": {"type": "number", "func": lambda v: {"minute": v}}}],
                "custom_validator": lambda c: True,
            }
        },
    ]
}


@pytest.fixture(scope="module")
def schema() -> Schema:
    return plugin_entity_schema("rate-limiting", PLUGIN)


def test_to_kong_is_the_plugins_own_fields_without_functions(schema: Schema) -> None:
    out = schema.to_kong()
    json.dumps(out)  # encodable
    assert [next(iter(f)) for f in out["fields"]] == ["consumer", "protocols", "config"]
    assert out["entity_checks"] == []
    consumer = out["fields"][0]["consumer"]
    assert consumer["type"] == "foreign" and consumer["reference"] == "consumers" and consumer["eq"] is None
    config = out["fields"][2]["config"]
    assert config["required"] is True  # records of entities are required, as Kong reports them
    assert "custom_validator" not in config
    assert config["entity_checks"] == [
        {"at_least_one_of": ["minute", "limits"]},
        {"custom_entity_check": {"field_sources": ["minute"]}},
    ]
    assert config["shorthand_fields"] == [{"per_minute": {"type": "number"}}]
    fields = {next(iter(f)): f[next(iter(f))] for f in config["fields"]}
    assert fields["policy"] == {"type": "string", "default": "local", "one_of": ["local", "redis"]}
    assert fields["header_name"]["default"] == "X-Foo" and "custom_validator" not in fields["header_name"]
    assert fields["limits"]["values"] == {"type": "integer", "between": [1, 10]}
    assert fields["paths"]["elements"]["starts_with"] == "/"


def test_to_kong_of_a_plain_schema_lists_all_fields() -> None:
    schema = Schema({"fields": [{"a": {"type": "string"}}], "entity_checks": [{"at_least_one_of": ["a"]}]})
    assert schema.to_kong() == {
        "fields": [{"a": {"type": "string"}}],
        "entity_checks": [{"at_least_one_of": ["a"]}],
    }


@pytest.fixture(scope="module")
def validator(schema: Schema) -> jsonschema.Draft202012Validator:
    document = schema.to_json_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["title"] == "rate-limiting"
    return jsonschema.Draft202012Validator(document)


VALID = [
    {"name": "rate-limiting", "config": {"minute": 5}},
    {"name": "rate-limiting", "config": {"per_minute": 5, "policy": "redis"}},
    {
        "name": "rate-limiting",
        "config": {"limits": {"a": 3}, "paths": ["/a"]},
        "enabled": False,
        "tags": ["x"],
    },
    {
        "name": "rate-limiting",
        "config": {"minute": 5, "header_name": None},
        "service": {"id": "3a0b5f6e-0cbd-4e54-9d3e-1d6e0c1a3f9a"},
    },
]
INVALID = [
    {"config": {"minute": 5}},  # name missing
    {"name": "rate-limiting", "config": {"minute": 0}},
    {"name": "rate-limiting", "config": {"minute": 5, "policy": "memory"}},
    {"name": "rate-limiting", "config": {"minute": 5, "bogus": 1}},
    {"name": "rate-limiting", "config": {"minute": 5, "limits": {"a": 11}}},
    {"name": "rate-limiting", "config": {"minute": 5, "paths": ["a"]}},
    {"name": "rate-limiting", "config": {"minute": 5, "paths": ["/a//b"]}},
    {"name": "rate-limiting", "config": {"minute": 5, "paths": []}},
    {
        "name": "rate-limiting",
        "config": {"minute": 5},
        "consumer": {"id": "3a0b5f6e-0cbd-4e54-9d3e-1d6e0c1a3f9a"},
    },
    {"name": "rate-limiting", "config": {"minute": 5}, "protocols": ["tcp"]},
    {"name": "rate-limiting", "config": {"minute": 5}, "enabled": None},
    {"name": "other", "config": {"minute": 5}},
]


@pytest.mark.parametrize("document", VALID)
def test_json_schema_accepts_what_the_schema_accepts(schema: Schema, validator: Any, document: dict) -> None:
    assert schema.validate(document)[1] == {}
    assert list(validator.iter_errors(document)) == []


@pytest.mark.parametrize("document", INVALID)
def test_json_schema_rejects_what_the_schema_rejects(schema: Schema, validator: Any, document: dict) -> None:
    assert schema.validate(document)[1] != {}
    assert list(validator.iter_errors(document)) != []


def test_json_schema_of_lua_patterns_and_nullability() -> None:
    schema = Schema(
        {
            "fields": [
                {"method": typedefs.http_method},
                {"version": typedefs.semantic_version({"required": True})},
                {"n": {"type": "integer", "between": [1, 3], "default": 2}},
                {"only": {"type": "string", "eq": None}},
            ],
            "entity_checks": [{"only_one_of": ["method", "n"]}],
        }
    )
    document = schema.to_json_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    props = document["properties"]
    assert props["method"]["type"] == ["string", "null"]
    assert props["n"]["default"] == 2
    assert props["only"] == {"type": "null"}
    assert document["required"] == ["version"]
    assert "allOf" not in document  # 'n' has a default: the check cannot be judged on input

    checked = Schema(
        {
            "fields": [{"a": {"type": "string"}}, {"b": {"type": "string"}}],
            "entity_checks": [{"at_least_one_of": ["a", "b"]}, {"mutually_exclusive": ["a", "b"]}],
        }
    ).to_json_schema()
    v = jsonschema.Draft202012Validator(checked)
    assert v.is_valid({"a": "x"}) and v.is_valid({"b": "y"})
    assert not v.is_valid({}) and not v.is_valid({"a": ""}) and not v.is_valid({"a": "x", "b": "y"})
    v = jsonschema.Draft202012Validator(document)
    assert v.is_valid({"method": "GET", "version": "1.2.3"})
    assert not v.is_valid({"method": "get", "version": "1.2.3"})
    assert not v.is_valid({"version": "1..2"})
    assert not v.is_valid({"version": "x"})
    assert not v.is_valid({"version": "1.0", "only": "x"})


def test_core_entity_export_has_only_fields_and_entity_checks() -> None:
    from host.config.entities import SERVICES

    out = SERVICES.schema.to_kong()
    assert set(out) == {"fields", "entity_checks"}
    names = [next(iter(f)) for f in out["fields"]]
    assert names[:6] == ["id", "created_at", "updated_at", "name", "retries", "protocol"]
    json.dumps(out)
