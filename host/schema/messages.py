"""Kong's validation messages (``validation_errors`` in ``kong/db/schema/init.lua``), verbatim.

The templates use Lua's ``string.format`` placeholders; :func:`lua_format` fills
them the way Lua does, and :func:`lua_str` renders values like Lua's ``tostring``
(``true``, ``null``, ``426``).  The module also holds what every part of the
engine shares: :class:`SchemaDefinitionError` and the :data:`MISSING` marker.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MESSAGES", "MISSING", "SchemaDefinitionError", "lua_format", "lua_str", "quoted_list"]


class _Missing:
    """Marks an absent key (Lua's ``nil``); ``None`` stands for Kong's ``null``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class SchemaDefinitionError(ValueError):
    """A schema definition is malformed; the message names the field and the problem."""


MESSAGES: dict[str, str] = {
    # types
    "ARRAY": "expected an array",
    "SET": "expected a set",
    "MAP": "expected a map",
    "RECORD": "expected a record",
    "STRING": "expected a string",
    "NUMBER": "expected a number",
    "BOOLEAN": "expected a boolean",
    "INTEGER": "expected an integer",
    "FUNCTION": "expected a function",
    # validations
    "EQ": "value must be %s",
    "NE": "value must not be %s",
    "GT": "value must be greater than %s",
    "BETWEEN": "value should be between %d and %d",
    "LEN_EQ": "length must be %d",
    "LEN_MIN": "length must be at least %d",
    "LEN_MAX": "length must be at most %d",
    "MATCH": "invalid value: %s",
    "NOT_MATCH": "invalid value: %s",
    "MATCH_ALL": "invalid value: %s",
    "MATCH_NONE": "invalid value: %s",
    "MATCH_ANY": "invalid value: %s",
    "STARTS_WITH": "should start with: %s",
    "CONTAINS": "expected to contain: %s",
    "ONE_OF": "expected one of: %s",
    "NOT_ONE_OF": "must not be one of: %s",
    "IS_REGEX": "not a valid regex: %s",
    "TIMESTAMP": "expected a valid timestamp",
    "UUID": "expected a valid UUID",
    "VALIDATION": "failed validating: %s",
    # field presence
    "REQUIRED": "required field missing",
    "UNKNOWN": "unknown field",
    "IMMUTABLE": "immutable field cannot be updated",
    "MISSING_PK": "missing primary key",
    # entity checks
    "REQUIRED_FOR_ENTITY_CHECK": "field required for entity check",
    "ENTITY_CHECK": "failed entity check: %s(%s)",
    "CONDITIONAL": "failed conditional validation given value of field '%s'",
    "AT_LEAST_ONE_OF": "at least one of these fields must be non-empty: %s",
    "CONDITIONAL_AT_LEAST_ONE_OF": "at least one of these fields must be non-empty: %s",
    "ONLY_ONE_OF": "exactly one of these fields must be non-empty: %s",
    "DISTINCT": "values of these fields must be distinct: %s",
    "MUTUALLY_REQUIRED": "all or none of these fields must be set: %s",
    "MUTUALLY_EXCLUSIVE": "only one or none of these fields must be set: %s",
    "MUTUALLY_EXCLUSIVE_SETS": "these sets are mutually exclusive: %s",
    # subschemas
    "SUBSCHEMA_UNKNOWN": "unknown type: %s",
    # json
    "JSON_SCHEMA_ERROR": "value failed JSON-schema validation: %s",
}

_PLACEHOLDER = re.compile(r"%([sd%])")


def lua_str(value: Any) -> str:
    """Render a value as Lua's ``tostring`` would (``None`` is Kong's ``null``)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return format(value, ".14g")
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def lua_format(template: str, *args: Any) -> str:
    """Fill ``%s``/``%d`` placeholders in order; extra arguments are ignored, as in Lua."""
    values = iter(args)

    def fill(match: re.Match[str]) -> str:
        kind = match.group(1)
        if kind == "%":
            return "%"
        value = next(values, "")
        if kind == "d" and isinstance(value, int | float) and not isinstance(value, bool):
            return str(int(value))
        return lua_str(value)

    return _PLACEHOLDER.sub(fill, template)


def quoted_list(words: Any) -> str:
    """``['a', 'b']`` -> ``'a', 'b'``; nested lists become ``('a', 'b')`` (Kong's ``quoted_list``)."""
    parts = []
    for word in words:
        if isinstance(word, list | tuple):
            parts.append(f"({quoted_list(word)})")
        else:
            parts.append(f"'{lua_str(word)}'")
    return ", ".join(parts)
