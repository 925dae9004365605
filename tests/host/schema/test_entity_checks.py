"""Entity checks: Kong's messages and when a check runs or is skipped."""

from __future__ import annotations

from typing import Any

from host.schema import Schema

FIELDS = [
    {"a": {"type": "string"}},
    {"b": {"type": "string"}},
    {"c": {"type": "integer"}},
    {"policy": {"type": "string", "default": "local", "one_of": ["local", "redis"]}},
    {"host": {"type": "string"}},
]


def schema(*checks: dict[str, Any]) -> Schema:
    return Schema({"fields": FIELDS, "entity_checks": list(checks)})


def entity_errors(s: Schema, data: dict[str, Any], **kw: Any) -> list[str]:
    return s.validate(data, **kw)[1].get("@entity", [])


class TestAtLeastOneOf:
    def test_message(self) -> None:
        s = schema({"at_least_one_of": ["a", "b"]})
        assert entity_errors(s, {}) == ["at least one of these fields must be non-empty: 'a', 'b'"]
        assert entity_errors(s, {"b": "x"}) == []

    def test_empty_values_do_not_count(self) -> None:
        s = Schema(
            {
                "fields": [
                    {"l": {"type": "array", "elements": {"type": "string"}}},
                    {"s": {"type": "string", "len_min": 0}},
                ],
                "entity_checks": [{"at_least_one_of": ["l", "s"]}],
            }
        )
        assert entity_errors(s, {"l": [], "s": ""}) == [
            "at least one of these fields must be non-empty: 'l', 's'"
        ]

    def test_partial_update_runs_only_when_a_field_is_given(self) -> None:
        s = schema({"at_least_one_of": ["a", "b"]})
        assert entity_errors(s, {}, partial=True) == []
        assert entity_errors(s, {"a": None}, partial=True) == [
            "at least one of these fields must be non-empty: 'a', 'b'"
        ]


def test_only_one_of() -> None:
    s = schema({"only_one_of": ["a", "b"]})
    assert entity_errors(s, {"a": "x"}) == []
    assert entity_errors(s, {"a": "x", "b": "y"}) == [
        "exactly one of these fields must be non-empty: 'a', 'b'"
    ]
    assert entity_errors(s, {}) == ["exactly one of these fields must be non-empty: 'a', 'b'"]


def test_distinct() -> None:
    s = schema({"distinct": ["a", "b"]})
    assert entity_errors(s, {"a": "x", "b": "y"}) == []
    assert entity_errors(s, {"a": None, "b": None}) == []
    assert entity_errors(s, {"a": "x", "b": "x"}) == ["values of these fields must be distinct: 'a', 'b'"]


def test_mutually_required() -> None:
    s = schema({"mutually_required": ["a", "b"]})
    assert entity_errors(s, {}) == []
    assert entity_errors(s, {"a": "x", "b": "y"}) == []
    assert entity_errors(s, {"a": "x"}) == ["all or none of these fields must be set: 'a', 'b'"]


def test_mutually_exclusive() -> None:
    s = schema({"mutually_exclusive": ["a", "b", "c"]})
    assert entity_errors(s, {"c": 1}) == []
    assert entity_errors(s, {"a": "x", "c": 1}) == [
        "only one or none of these fields must be set: 'a', 'b', 'c'"
    ]


def test_mutually_exclusive_sets_names_the_fields_set() -> None:
    s = schema({"mutually_exclusive_sets": {"set1": ["a", "b"], "set2": ["c", "host"]}})
    assert entity_errors(s, {"a": "x", "b": "y"}) == []
    assert entity_errors(s, {"c": 1, "host": "h"}) == []
    assert entity_errors(s, {"a": "x", "c": 1}) == ["these sets are mutually exclusive: ('a'), ('c')"]
    assert entity_errors(s, {"b": "y", "c": 1, "host": "h"}) == [
        "these sets are mutually exclusive: ('b'), ('c', 'host')"
    ]


class TestConditional:
    CHECK = {
        "conditional": {
            "if_field": "policy",
            "if_match": {"eq": "redis"},
            "then_field": "host",
            "then_match": {"required": True},
        }
    }

    def test_required_then_field(self) -> None:
        s = schema(self.CHECK)
        assert s.validate({"policy": "local"})[1] == {}
        assert s.validate({"policy": "redis", "host": "r"})[1] == {}
        assert s.validate({"policy": "redis"})[1] == {
            "host": "required field missing",
            "@entity": ["failed conditional validation given value of field 'policy'"],
        }

    def test_then_match_validators_and_then_err(self) -> None:
        s = schema(
            {
                "conditional": {
                    "if_field": "c",
                    "if_match": {"gt": 10},
                    "then_field": "a",
                    "then_match": {"one_of": ["big"]},
                    "then_err": "'a' must be 'big' when '%s' is above 10",
                }
            }
        )
        assert s.validate({"c": 5, "a": "small"})[1] == {}
        assert s.validate({"c": 50, "a": "small"})[1] == {
            "a": "expected one of: big",
            "@entity": ["'a' must be 'big' when 'c' is above 10"],
        }

    def test_if_match_inherits_the_field_definition(self) -> None:
        # if_match adds to the field's own rules: 'policy' keeps its one_of
        s = schema(
            {
                "conditional": {
                    "if_field": "policy",
                    "if_match": {"match": "^r"},
                    "then_field": "host",
                    "then_match": {"eq": None},
                }
            }
        )
        assert s.validate({"policy": "redis", "host": "h"})[1]["host"] == "value must be null"

    def test_missing_if_field_on_partial_update(self) -> None:
        s = schema(self.CHECK)
        assert s.validate({"host": None}, partial=True)[1] == {"policy": "field required for entity check"}


class TestConditionalAtLeastOneOf:
    CHECK = {
        "conditional_at_least_one_of": {
            "if_field": "policy",
            "if_match": {"eq": "redis"},
            "then_at_least_one_of": ["host", "a"],
            "then_err": "must set one of %s when policy is redis",
            "else_match": {"eq": "local"},
            "else_then_at_least_one_of": ["b"],
        }
    }

    def test_then_branch_with_custom_error(self) -> None:
        s = schema(self.CHECK)
        assert entity_errors(s, {"policy": "redis"}) == ["must set one of 'host', 'a' when policy is redis"]
        assert entity_errors(s, {"policy": "redis", "a": "x"}) == []

    def test_else_branch_with_default_message(self) -> None:
        s = schema(self.CHECK)
        assert entity_errors(s, {}) == ["at least one of these fields must be non-empty: 'b'"]
        assert entity_errors(s, {"b": "x"}) == []


class TestCustomEntityCheck:
    def test_function_sees_only_its_fields(self) -> None:
        seen: list[dict[str, Any]] = []

        def fn(entity: dict[str, Any]) -> Any:
            seen.append(entity)
            return True if entity["a"] != entity["b"] else (None, "a and b must differ")

        s = schema({"custom_entity_check": {"field_sources": ["a", "b"], "fn": fn}})
        assert entity_errors(s, {"a": "x", "b": "x", "c": 3}) == ["a and b must differ"]
        assert seen[-1] == {"a": "x", "b": "x"}
        assert entity_errors(s, {"a": "x", "b": "y"}) == []

    def test_skipped_when_a_field_is_invalid(self) -> None:
        calls = []
        s = schema({"custom_entity_check": {"field_sources": ["c"], "fn": lambda e: calls.append(e) or True}})
        assert s.validate({"c": "not a number"})[1] == {"c": "expected an integer"}
        assert calls == []

    def test_generic_message_when_no_error_is_given(self) -> None:
        s = schema({"custom_entity_check": {"field_sources": ["a"], "fn": lambda e: False}})
        assert entity_errors(s, {"a": "x"}) == ["failed entity check: custom_entity_check(a)"]

    def test_required_fields_on_partial_update(self) -> None:
        s = schema({"custom_entity_check": {"field_sources": ["a", "b"], "fn": lambda e: True}})
        assert s.validate({"a": "x"}, partial=True)[1] == {"b": "field required for entity check"}


def test_checks_on_nested_records_and_dotted_fields() -> None:
    config = {
        "type": "record",
        "fields": [{"second": {"type": "number"}}, {"minute": {"type": "number"}}],
        "entity_checks": [{"at_least_one_of": ["second", "minute"]}],
    }
    s = Schema(
        {
            "fields": [{"config": config}],
            "entity_checks": [{"only_one_of": ["config.second", "config.minute"]}],
        }
    )
    assert s.validate({"config": {}})[1] == {
        "config": {"@entity": ["at least one of these fields must be non-empty: 'second', 'minute'"]},
        "@entity": ["exactly one of these fields must be non-empty: 'config.second', 'config.minute'"],
    }
    assert s.validate({"config": {"minute": 2}})[1] == {}
    errors = s.validate({"config": {"second": 1, "minute": 2}})[1]
    assert errors == {
        "@entity": ["exactly one of these fields must be non-empty: 'config.second', 'config.minute'"]
    }


def test_only_one_of_is_skipped_when_a_field_is_missing_on_partial_update() -> None:
    s = schema({"only_one_of": ["a", "b"]})
    assert s.validate({"a": "x"}, partial=True)[1] == {"b": "field required for entity check"}
