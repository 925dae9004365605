"""Single-field validators (Kong's ``Schema.validators``), in Kong's order.

Each validator takes ``(value, argument)`` and returns ``(ok, message)``; a
``None`` message means "use the validator's default message" (see
:func:`host.schema._engine.validate_field`).  Values reaching a validator have
already passed the field's type check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from host.schema.lua_pattern import lua_find
from host.schema.messages import MESSAGES, lua_format, lua_str, quoted_list

__all__ = [
    "VALIDATOR_ORDER",
    "VALIDATORS",
    "VALIDATOR_TYPES",
    "call_custom",
    "compile_pcre",
    "lua_equal",
    "byte_length",
    "is_reference",
]

Result = tuple[bool, str | None]

#: the order in which Kong runs the validators of one field
VALIDATOR_ORDER: tuple[str, ...] = (
    "eq",
    "ne",
    "not_one_of",
    "one_of",
    "gt",
    "timestamp",
    "uuid",
    "is_regex",
    "between",
    "len_eq",
    "len_min",
    "len_max",
    "starts_with",
    "not_match",
    "match_none",
    "match",
    "match_all",
    "match_any",
    "contains",
    "custom_validator",
    "mutually_exclusive_subsets",
)

#: every field type (validators that apply to any type); _compile.TYPES re-exports it
_ANY = frozenset(
    {
        "string",
        "number",
        "integer",
        "boolean",
        "array",
        "set",
        "map",
        "record",
        "foreign",
        "json",
        "any",
        "function",
    }
)
_STRINGS = frozenset({"string", "json", "any"})
_NUMBERS = frozenset({"number", "integer", "json", "any"})
_LENGTHS = frozenset({"string", "array", "set", "map", "json", "any"})
_LISTS = frozenset({"array", "set", "json", "any"})

#: field types each validator applies to (checked when a schema is compiled)
VALIDATOR_TYPES: dict[str, frozenset[str]] = {
    "eq": _ANY,
    "ne": _ANY,
    "not_one_of": _ANY,
    "one_of": _ANY,
    "gt": _NUMBERS,
    "timestamp": _NUMBERS,
    "uuid": _STRINGS,
    "is_regex": _STRINGS,
    "between": _NUMBERS,
    "len_eq": _LENGTHS,
    "len_min": _LENGTHS,
    "len_max": _LENGTHS,
    "starts_with": _STRINGS,
    "not_match": _STRINGS,
    "match_none": _STRINGS,
    "match": _STRINGS,
    "match_all": _STRINGS,
    "match_any": _STRINGS,
    "contains": _LISTS,
    "custom_validator": _ANY,
    "mutually_exclusive_subsets": _LISTS,
}

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.IGNORECASE)
_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


def lua_equal(a: Any, b: Any) -> bool:
    """Equality as in Lua: ``true`` never equals ``1``."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def is_reference(value: Any) -> bool:
    """True for a vault reference such as ``{vault://env/my-secret}``."""
    return isinstance(value, str) and value.startswith("{vault://") and value.endswith("}")


def byte_length(value: Any) -> int:
    """Lua's ``#``: the byte length of a string, the number of items of a table."""
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    return len(value)


@lru_cache(maxsize=1024)
def compile_pcre(pattern: str) -> re.Pattern[str]:
    """Compile a PCRE-style regex with Python's ``re`` (``(?<name>`` becomes ``(?P<name>``)."""
    return re.compile(_NAMED_GROUP.sub("(?P<", pattern))


def call_custom(fn: Callable[[Any], Any], value: Any) -> Result:
    """Run a ``custom_validator``: ``(None|False, msg)`` fails, any other result passes
    (Lua's truth: ``0``, ``""`` or an empty table pass, as in Kong)."""
    try:
        result = fn(value)
    except Exception as exc:  # noqa: BLE001 - a broken validator must not take the loader down
        return False, f"custom validator failed: {type(exc).__name__}: {exc}"
    if isinstance(result, tuple):
        ok = result[0] if result else None
        err = result[1] if len(result) > 1 else None
    else:
        ok, err = result, None
    if ok is not None and ok is not False:
        return True, None
    return False, (None if err is None else str(err))


def _eq(value: Any, wanted: Any) -> Result:
    if lua_equal(value, wanted):
        return True, None
    return False, lua_format(MESSAGES["EQ"], wanted)


def _ne(value: Any, wanted: Any) -> Result:
    if not lua_equal(value, wanted):
        return True, None
    return False, lua_format(MESSAGES["NE"], value)


def _one_of(value: Any, options: list[Any]) -> Result:
    if any(lua_equal(value, option) for option in options):
        return True, None
    return False, lua_format(MESSAGES["ONE_OF"], ", ".join(lua_str(o) for o in options))


def _not_one_of(value: Any, options: list[Any]) -> Result:
    if any(lua_equal(value, option) for option in options):
        return False, lua_format(MESSAGES["NOT_ONE_OF"], ", ".join(lua_str(o) for o in options))
    return True, None


def _gt(value: Any, limit: Any) -> Result:
    if value > limit:
        return True, None
    return False, lua_format(MESSAGES["GT"], limit)


def _between(value: Any, limits: list[Any]) -> Result:
    low, high = limits
    if value < low or value > high:
        return False, lua_format(MESSAGES["BETWEEN"], low, high)
    return True, None


def _length(name: str, compare: Callable[[int, int], bool]) -> Callable[[Any, int], Result]:
    def check(value: Any, n: int) -> Result:
        if compare(byte_length(value), n):
            return True, None
        return False, lua_format(MESSAGES[name], n)

    return check


def _timestamp(value: Any, _arg: Any) -> Result:
    return value > 0, None


def _uuid(value: str, _arg: Any) -> Result:
    return bool(_UUID_RE.match(value)), None


def _is_regex(value: str, _arg: Any) -> Result:
    try:
        compile_pcre(value)
    except re.error:
        return False, None
    return True, None


def _starts_with(value: str, prefix: str) -> Result:
    if value.startswith(prefix):
        return True, None
    return False, lua_format(MESSAGES["STARTS_WITH"], prefix)


def _match(value: str, pattern: str) -> Result:
    if lua_find(pattern, value):
        return True, None
    return False, lua_format(MESSAGES["MATCH"], value)


def _not_match(value: str, pattern: str) -> Result:
    if lua_find(pattern, value):
        return False, lua_format(MESSAGES["NOT_MATCH"], value)
    return True, None


def _match_all(value: str, items: list[dict[str, str]]) -> Result:
    for item in items:
        if not lua_find(item["pattern"], value):
            return False, item.get("err")
    return True, None


def _match_none(value: str, items: list[dict[str, str]]) -> Result:
    for item in items:
        if lua_find(item["pattern"], value):
            return False, item.get("err")
    return True, None


def _match_any(value: str, arg: dict[str, Any]) -> Result:
    if any(lua_find(pattern, value) for pattern in arg["patterns"]):
        return True, None
    return False, arg.get("err")


def _contains(value: list[Any], wanted: Any) -> Result:
    if any(lua_equal(item, wanted) for item in value):
        return True, None
    return False, lua_format(MESSAGES["CONTAINS"], wanted)


def _mutually_exclusive_subsets(value: list[Any], subsets: list[list[Any]]) -> Result:
    owner: dict[Any, int] = {}
    for index, subset in enumerate(subsets):
        for item in subset:
            owner[item] = index
    used: list[int] = []
    for item in value:
        index = owner.get(item) if isinstance(item, str | int | float) else None
        if index is not None and index not in used:
            used.append(index)
    if len(used) <= 1:
        return True, None
    return False, lua_format(MESSAGES["MUTUALLY_EXCLUSIVE_SETS"], quoted_list([subsets[i] for i in used]))


VALIDATORS: dict[str, Callable[[Any, Any], Result]] = {
    "eq": _eq,
    "ne": _ne,
    "not_one_of": _not_one_of,
    "one_of": _one_of,
    "gt": _gt,
    "timestamp": _timestamp,
    "uuid": _uuid,
    "is_regex": _is_regex,
    "between": _between,
    "len_eq": _length("LEN_EQ", lambda n, want: n == want),
    "len_min": _length("LEN_MIN", lambda n, want: n >= want),
    "len_max": _length("LEN_MAX", lambda n, want: n <= want),
    "starts_with": _starts_with,
    "not_match": _not_match,
    "match_none": _match_none,
    "match": _match,
    "match_all": _match_all,
    "match_any": _match_any,
    "contains": _contains,
    "custom_validator": lambda value, fn: call_custom(fn, value),
    "mutually_exclusive_subsets": _mutually_exclusive_subsets,
}
