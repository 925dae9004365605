"""Every single-field validator, with Kong's exact messages and order."""

from __future__ import annotations

from typing import Any

import pytest

from host.schema import Schema


def check(field: dict[str, Any], value: Any) -> Any:
    _, errors = Schema({"fields": [{"f": field}]}).validate({"f": value})
    return errors.get("f")


@pytest.mark.parametrize(
    ("field", "good", "bad", "message"),
    [
        ({"type": "integer", "eq": 3}, 3, 4, "value must be 3"),
        ({"type": "boolean", "eq": False}, False, True, "value must be false"),
        ({"type": "string", "ne": "x"}, "y", "x", "value must not be x"),
        ({"type": "string", "one_of": ["local", "redis"]}, "redis", "mem", "expected one of: local, redis"),
        ({"type": "integer", "one_of": [426, 301]}, 301, 302, "expected one of: 426, 301"),
        ({"type": "string", "not_one_of": ["a", "b"]}, "c", "a", "must not be one of: a, b"),
        ({"type": "number", "gt": 0}, 0.5, 0, "value must be greater than 0"),
        ({"type": "number", "gt": 1.5}, 2, 1.5, "value must be greater than 1.5"),
        ({"type": "integer", "timestamp": True}, 1, 0, "expected a valid timestamp"),
        (
            {"type": "string", "uuid": True},
            "3A0B5F6E-0CBD-4E54-9D3E-1D6E0C1A3F9A",
            "3a0b5f6e",
            "expected a valid UUID",
        ),
        ({"type": "string", "is_regex": True}, "^a(b|c)$", "a(b", "not a valid regex: a(b"),
        ({"type": "integer", "between": [0, 65535]}, 65535, 65536, "value should be between 0 and 65535"),
        ({"type": "number", "between": [0.001, 10]}, 1, 0, "value should be between 0 and 10"),
        ({"type": "string", "len_eq": 2}, "ab", "abc", "length must be 2"),
        ({"type": "string", "len_min": 2}, "ab", "a", "length must be at least 2"),
        ({"type": "string", "len_max": 2}, "ab", "abc", "length must be at most 2"),
        (
            {"type": "array", "elements": {"type": "string"}, "len_min": 1},
            ["a"],
            [],
            "length must be at least 1",
        ),
        (
            {"type": "map", "keys": {"type": "string"}, "values": {"type": "string"}, "len_max": 1},
            {"a": "b"},
            {"a": "b", "c": "d"},
            "length must be at most 1",
        ),
        ({"type": "string", "starts_with": "/"}, "/a", "a", "should start with: /"),
        ({"type": "string", "match": "^%u+$"}, "GET", "get", "invalid value: get"),
        ({"type": "string", "not_match": "%s"}, "ab", "a b", "invalid value: a b"),
        (
            {
                "type": "string",
                "match_all": [
                    {"pattern": "^a", "err": "must start with a"},
                    {"pattern": "z$", "err": "must end with z"},
                ],
            },
            "abz",
            "abc",
            "must end with z",
        ),
        (
            {"type": "string", "match_none": [{"pattern": "//", "err": "must not have empty segments"}]},
            "/a/b",
            "/a//b",
            "must not have empty segments",
        ),
        ({"type": "string", "match_any": {"patterns": ["^/", "^~/"], "err": "nope"}}, "~/x", "x", "nope"),
        (
            {"type": "array", "elements": {"type": "string"}, "contains": "http"},
            ["http"],
            ["https"],
            "expected to contain: http",
        ),
        (
            {
                "type": "set",
                "elements": {"type": "string"},
                "mutually_exclusive_subsets": [["http", "https"], ["tcp", "udp"]],
            },
            ["http", "https"],
            ["http", "tcp"],
            "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'udp')",
        ),
    ],
)
def test_validator(field: dict, good: Any, bad: Any, message: str) -> None:
    assert check(field, good) is None
    assert check(field, bad) == message


def test_len_counts_bytes_like_lua() -> None:
    assert check({"type": "string", "len_max": 2}, "é") is None
    assert check({"type": "string", "len_max": 1}, "é") == "length must be at most 1"


def test_match_all_without_err_falls_back_to_kong_message() -> None:
    assert check({"type": "string", "match_all": [{"pattern": "^a"}]}, "b") == "invalid value: b"


def test_one_of_does_not_confuse_booleans_and_numbers() -> None:
    assert check({"type": "integer", "one_of": [1]}, 1) is None
    assert check({"type": "boolean", "one_of": [True]}, True) is None
    assert check({"type": "json", "one_of": [1]}, True) == "expected one of: 1"


def test_err_attribute_replaces_validator_messages() -> None:
    field = {"type": "string", "one_of": ["a"], "err": "pick a"}
    assert check(field, "b") == "pick a"
    assert check(field, 1) == "expected a string"  # type errors are not replaced


def test_validators_run_in_kong_order() -> None:
    # eq/ne/one_of come before length, match_none before match_any, custom_validator last
    field = {
        "type": "string",
        "len_min": 5,
        "match_any": {"patterns": ["^/"], "err": "match_any"},
        "match_none": [{"pattern": "//", "err": "match_none"}],
        "custom_validator": lambda v: (None, "custom"),
        "one_of": ["x", "//", "abcdefg", "/abcdef"],
    }
    assert check(field, "y").startswith("expected one of")
    assert check(field, "x") == "length must be at least 5"
    assert check(field, "abcdefg") == "match_any"
    assert check(field, "/abcdef") == "custom"


class TestCustomValidator:
    @pytest.mark.parametrize("result", [True, (True, None), (True,), "truthy"])
    def test_success_shapes(self, result: Any) -> None:
        assert check({"type": "string", "custom_validator": lambda v: result}, "x") is None

    def test_failure_with_message(self) -> None:
        assert check({"type": "string", "custom_validator": lambda v: (None, f"bad {v}")}, "x") == "bad x"
        assert check({"type": "string", "custom_validator": lambda v: (False, "no")}, "x") == "no"

    def test_failure_without_message(self) -> None:
        assert check({"type": "string", "custom_validator": lambda v: None}, "x") == "failed validating: x"

    def test_an_exception_is_a_validation_error(self) -> None:
        def boom(value: Any) -> Any:
            raise RuntimeError("kaput")

        assert (
            check({"type": "string", "custom_validator": boom}, "x")
            == "custom validator failed: RuntimeError: kaput"
        )

    def test_record_custom_validator_sees_the_normalized_record(self) -> None:
        seen = []

        def validator(config: dict) -> Any:
            seen.append(config)
            return (None, "a must differ from b") if config["a"] == config["b"] else True

        field = {
            "type": "record",
            "fields": [{"a": {"type": "integer", "default": 1}}, {"b": {"type": "integer"}}],
            "custom_validator": validator,
        }
        assert check(field, {"b": 1}) == "a must differ from b"
        assert seen[-1] == {"a": 1, "b": 1}
        assert check(field, {"b": 2}) is None
