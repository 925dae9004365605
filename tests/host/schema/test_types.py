"""Field types, null semantics, required fields, defaults and normalization."""

from __future__ import annotations

from typing import Any

import pytest

from host.schema import Schema


def one(field: dict[str, Any], **kw: Any) -> Schema:
    return Schema({"fields": [{"f": field}]}, **kw)


def err(schema: Schema, value: Any) -> Any:
    _, errors = schema.validate({"f": value})
    return errors.get("f")


@pytest.mark.parametrize(
    ("field", "good", "bad", "message"),
    [
        ({"type": "string"}, "x", 1, "expected a string"),
        ({"type": "number"}, 1.5, "1", "expected a number"),
        ({"type": "number"}, 2, True, "expected a number"),
        ({"type": "integer"}, 3, 1.5, "expected an integer"),
        ({"type": "integer"}, 3, True, "expected an integer"),
        ({"type": "integer"}, 3, float("inf"), "expected an integer"),
        ({"type": "boolean"}, False, "true", "expected a boolean"),
        ({"type": "boolean"}, True, 1, "expected a boolean"),
        ({"type": "array", "elements": {"type": "string"}}, ["a"], {"a": 1}, "expected an array"),
        ({"type": "set", "elements": {"type": "string"}}, ["a"], "a", "expected a set"),
        (
            {"type": "map", "keys": {"type": "string"}, "values": {"type": "integer"}},
            {"a": 1},
            [1],
            "expected a map",
        ),
        ({"type": "record", "fields": [{"a": {"type": "string"}}]}, {"a": "x"}, "x", "expected a record"),
        ({"type": "function"}, len, "len", "expected a function"),
    ],
)
def test_type_checks_use_kong_messages(field: dict, good: Any, bad: Any, message: str) -> None:
    schema = one(field)
    assert err(schema, good) is None
    assert err(schema, bad) == message


def test_json_and_any_accept_every_value() -> None:
    for ftype in ("json", "any"):
        schema = one({"type": ftype})
        for value in ("x", 1, [1, {"a": None}], {"k": [True]}):
            assert err(schema, value) is None


def test_json_field_with_inline_json_schema() -> None:
    schema = one({"type": "json", "json_schema": {"inline": {"type": "object", "required": ["a"]}}})
    assert err(schema, {"a": 1}) is None
    assert err(schema, {}) == "value failed JSON-schema validation: 'a' is a required property"


def test_empty_strings_are_rejected_unless_len_min_allows_them() -> None:
    assert err(one({"type": "string"}), "") == "length must be at least 1"
    assert err(one({"type": "string", "len_min": 0}), "") is None


def test_array_element_errors_are_indexed_from_zero() -> None:
    schema = one({"type": "array", "elements": {"type": "integer", "between": [1, 5]}})
    assert err(schema, [1, "x", 9]) == {1: "expected an integer", 2: "value should be between 1 and 5"}


def test_array_elements_are_required() -> None:
    schema = one({"type": "array", "elements": {"type": "string"}})
    assert err(schema, ["a", None]) == {1: "required field missing"}


def test_map_reports_the_first_key_or_value_error_as_a_string() -> None:
    schema = one({"type": "map", "keys": {"type": "string", "match": "^%l+$"}, "values": {"type": "integer"}})
    assert err(schema, {"ok": 1}) is None
    assert err(schema, {"ok": "x"}) == "expected an integer"
    assert err(schema, {"Bad": 1}) == "invalid value: Bad"


def test_record_errors_are_nested_by_field() -> None:
    schema = one(
        {
            "type": "record",
            "fields": [{"a": {"type": "string"}}, {"b": {"type": "integer", "required": True}}],
        }
    )
    assert err(schema, {"a": 1}) == {"a": "expected a string", "b": "required field missing"}
    assert err(schema, {"b": 1, "zzz": 2}) == {"zzz": "unknown field"}


def test_foreign_values_are_primary_keys() -> None:
    schema = one({"type": "foreign", "reference": "services"})
    assert err(schema, {"id": "3a0b5f6e-0cbd-4e54-9d3e-1d6e0c1a3f9a"}) is None
    assert err(schema, {"id": "nope"}) == {"id": "expected a valid UUID"}
    assert err(schema, {"name": "x"}) == {"id": "missing primary key"}
    assert err(schema, {"id": None}) == {"id": "required field missing"}


def test_unknown_top_level_field() -> None:
    schema = one({"type": "string"})
    _, errors = schema.validate({"f": "x", "g": 1})
    assert errors == {"g": "unknown field"}


class TestNulls:
    def test_null_is_allowed_unless_required(self) -> None:
        assert err(one({"type": "string"}), None) is None
        assert err(one({"type": "string", "required": True}), None) == "required field missing"

    def test_required_field_absent(self) -> None:
        schema = one({"type": "string", "required": True})
        assert schema.validate({})[1] == {"f": "required field missing"}

    def test_eq_null_forbids_a_value(self) -> None:
        schema = one({"type": "string", "eq": None})
        assert err(schema, None) is None
        assert err(schema, "x") == "value must be null"
        assert err(one({"type": "string", "eq": None, "err": "no way"}), "x") == "no way"

    def test_ne_null_requires_a_value(self) -> None:
        assert err(one({"type": "string", "ne": None}), None) == "value must not be null"

    def test_eq_with_a_value_rejects_null(self) -> None:
        assert err(one({"type": "boolean", "eq": True}), None) == "value must be true"


class TestDefaults:
    def test_defaults_fill_absent_fields_and_null_for_the_rest(self) -> None:
        schema = Schema({"fields": [{"a": {"type": "integer", "default": 5}}, {"b": {"type": "string"}}]})
        data, errors = schema.validate({})
        assert (data, errors) == ({"a": 5, "b": None}, {})

    def test_explicit_null_is_kept(self) -> None:
        schema = Schema({"fields": [{"a": {"type": "integer", "default": 5}}]})
        assert schema.validate({"a": None})[0] == {"a": None}

    def test_defaults_are_deep_copied(self) -> None:
        schema = Schema(
            {"fields": [{"a": {"type": "array", "elements": {"type": "string"}, "default": ["x"]}}]}
        )
        first = schema.validate({})[0]
        first["a"].append("y")
        assert schema.validate({})[0] == {"a": ["x"]}
        assert schema.defaults() == {"a": ["x"]}

    def test_required_records_are_expanded_with_nested_defaults(self) -> None:
        inner = {"type": "record", "fields": [{"x": {"type": "integer", "default": 1}}]}
        schema = Schema(
            {"fields": [{"r": {"type": "record", "required": True, "fields": [{"inner": inner}]}}]}
        )
        assert schema.defaults() == {"r": {"inner": None}}
        entity = Schema({"fields": [{"r": {"type": "record", "fields": [{"inner": inner}]}}]}, entity=True)
        assert entity.defaults() == {"r": {"inner": {"x": 1}}}

    def test_optional_records_without_default_are_null(self) -> None:
        schema = Schema({"fields": [{"r": {"type": "record", "fields": [{"x": {"type": "integer"}}]}}]})
        assert schema.defaults() == {"r": None}

    def test_array_of_records_get_element_defaults(self) -> None:
        element = {
            "type": "record",
            "fields": [{"x": {"type": "integer", "default": 7}}, {"y": {"type": "string"}}],
        }
        schema = Schema({"fields": [{"a": {"type": "array", "elements": element}}]})
        assert schema.validate({"a": [{}, {"x": 1}]})[0] == {"a": [{"x": 7, "y": None}, {"x": 1, "y": None}]}

    def test_output_is_in_schema_order_with_unknown_keys_last(self) -> None:
        schema = Schema({"fields": [{"a": {"type": "string"}}, {"b": {"type": "string"}}]})
        data, _ = schema.validate({"zz": 1, "b": "x"})
        assert list(data) == ["a", "b", "zz"]

    def test_input_is_not_modified(self) -> None:
        schema = Schema(
            {
                "fields": [
                    {"a": {"type": "set", "elements": {"type": "string"}}},
                    {"b": {"type": "integer", "default": 1}},
                ]
            }
        )
        given = {"a": ["x", "x"]}
        schema.validate(given)
        assert given == {"a": ["x", "x"]}


def test_sets_drop_duplicates_and_keep_order() -> None:
    schema = one({"type": "set", "elements": {"type": "string"}})
    assert schema.validate({"f": ["b", "a", "b"]})[0] == {"f": ["b", "a"]}


def test_integral_floats_become_integers() -> None:
    data, errors = one({"type": "integer"}).validate({"f": 5.0})
    assert data == {"f": 5} and isinstance(data["f"], int) and errors == {}


class TestAuto:
    def test_auto_uuid_and_timestamps(self) -> None:
        schema = Schema(
            {
                "fields": [
                    {"id": {"type": "string", "uuid": True, "auto": True}},
                    {"created_at": {"type": "integer", "timestamp": True, "auto": True}},
                    {"secret": {"type": "string", "auto": True}},
                ]
            }
        )
        data, errors = schema.validate({})
        assert errors == {}
        assert len(data["id"]) == 36 and data["created_at"] > 1_600_000_000 and len(data["secret"]) >= 20
        assert schema.validate({"id": "x"}, auto=True)[1] == {"id": "expected a valid UUID"}
        assert schema.validate({}, auto=False)[0] == {"id": None, "created_at": None, "secret": None}


class TestPartial:
    def test_partial_skips_defaults_and_missing_required(self) -> None:
        schema = Schema(
            {
                "fields": [
                    {"a": {"type": "string", "required": True}},
                    {"b": {"type": "integer", "default": 1}},
                ]
            }
        )
        assert schema.validate({}, partial=True) == ({}, {})
        assert schema.validate({"a": None}, partial=True)[1] == {"a": "required field missing"}

    def test_partial_still_validates_nested_records_fully(self) -> None:
        rec = {"type": "record", "fields": [{"x": {"type": "integer", "required": True}}]}
        schema = Schema({"fields": [{"r": rec}]})
        assert schema.validate({"r": {}}, partial=True)[1] == {"r": {"x": "required field missing"}}


def test_non_record_input() -> None:
    assert Schema({"fields": []}).validate([])[1] == {"@entity": ["expected a record"]}  # type: ignore[arg-type]


def test_referenceable_strings_accept_vault_references() -> None:
    schema = one({"type": "string", "referenceable": True, "match": "^%d+$"})
    assert err(schema, "{vault://env/my-secret}") is None
    assert err(schema, "abc") == "invalid value: abc"
