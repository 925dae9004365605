"""Export a :class:`~host.schema.Schema` as Kong's Admin API JSON and as JSON Schema.

``to_kong`` gives what Kong serves at ``/schemas/plugins/{name}``: the field
definitions with functions (``custom_validator``, shorthand ``func``, entity
check ``fn``) left out.  ``to_json_schema`` describes valid *input* documents
(draft 2020-12): fields with defaults are optional, unset optional fields may be
``null``.  Rules that JSON Schema cannot express (custom validators, conditional
and subschema rules, checks on fields with defaults) are not included; the
Schema itself remains the authority.
"""

from __future__ import annotations

import math
import re
from itertools import combinations
from typing import TYPE_CHECKING, Any

from host.schema._compile import FieldDef, RecordDef
from host.schema.lua_pattern import LuaPatternError, lua_to_regex
from host.schema.messages import MISSING

if TYPE_CHECKING:
    from host.schema.schema import Schema

__all__ = ["to_kong", "to_json_schema", "jsonable"]

JSON_SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def jsonable(value: Any) -> Any:
    """A JSON-encodable copy: callables dropped, tuples as lists, non-finite floats as strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value if not callable(v)]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    return value


# -- Kong's Admin API shape ------------------------------------------------------------------


def _field_to_kong(fdef: FieldDef) -> dict[str, Any]:
    out = jsonable(fdef.attrs)
    for part in ("elements", "keys", "values"):
        child = getattr(fdef, part)
        if child is not None:
            out[part] = _field_to_kong(child)
    if fdef.record is not None:
        out.update(_record_to_kong(fdef.record, None))
    return out


def _record_to_kong(record: RecordDef, names: list[str] | None) -> dict[str, Any]:
    selected = names if names is not None else list(record.fields)
    out: dict[str, Any] = {
        "fields": [{n: _field_to_kong(record.fields[n])} for n in selected if n in record.fields]
    }
    if record.raw_checks:
        out["entity_checks"] = jsonable(record.raw_checks)
    if record.shorthands:
        out["shorthand_fields"] = [{s.name: jsonable(s.raw)} for s in record.shorthands]
    return out


def to_kong(schema: Schema) -> dict[str, Any]:
    """``{"fields": [...], "entity_checks": [...]}`` as Kong's Admin API returns it.

    As in Kong, the top level has only these two keys; nested records also show
    their ``entity_checks`` and ``shorthand_fields``.
    """
    out = _record_to_kong(schema.record, schema.export_fields)
    return {"fields": out["fields"], "entity_checks": out.get("entity_checks", [])}


# -- JSON Schema -----------------------------------------------------------------------------


def _pattern(lua: str) -> str | None:
    try:
        regex = lua_to_regex(lua, portable=True)
        re.compile(regex)
    except (LuaPatternError, re.error):
        return None
    return regex


def _string_rules(fdef: FieldDef, out: dict[str, Any], extra: list[dict[str, Any]]) -> None:
    checks = dict(fdef.checks)
    if "len_eq" in checks:
        out["minLength"] = out["maxLength"] = checks["len_eq"]
    if "len_min" in checks:
        out["minLength"] = checks["len_min"]
    if "len_max" in checks:
        out["maxLength"] = checks["len_max"]
    if checks.get("uuid"):
        out["format"] = "uuid"
        out["pattern"] = _UUID_PATTERN
    if "starts_with" in checks:
        extra.append({"type": "string", "pattern": "^" + re.escape(checks["starts_with"])})
    for lua in [checks.get("match")] + [i["pattern"] for i in checks.get("match_all", ())]:
        regex = lua and _pattern(lua)
        if regex:
            extra.append({"type": "string", "pattern": regex})
    for lua in [checks.get("not_match")] + [i["pattern"] for i in checks.get("match_none", ())]:
        regex = lua and _pattern(lua)
        if regex:
            extra.append({"not": {"type": "string", "pattern": regex}})
    if "match_any" in checks:
        regexes = [_pattern(p) for p in checks["match_any"]["patterns"]]
        if regexes and all(regexes):
            extra.append({"anyOf": [{"type": "string", "pattern": r} for r in regexes]})


def _base(fdef: FieldDef) -> dict[str, Any]:
    """The JSON Schema of a non-null value of the field."""
    checks = dict(fdef.checks)
    out: dict[str, Any] = {}
    extra: list[dict[str, Any]] = []
    ftype = fdef.type
    if ftype == "string":
        out["type"] = "string"
        _string_rules(fdef, out, extra)
    elif ftype in ("integer", "number"):
        out["type"] = ftype
        if "between" in checks:
            out["minimum"], out["maximum"] = checks["between"]
        if "gt" in checks:
            out["exclusiveMinimum"] = checks["gt"]
        if checks.get("timestamp"):
            out["exclusiveMinimum"] = 0
    elif ftype == "boolean":
        out["type"] = "boolean"
    elif ftype in ("array", "set"):
        out.update(type="array", items=_field(fdef.elements))
        if ftype == "set":
            out["uniqueItems"] = True
        for key, keyword in (("len_min", "minItems"), ("len_max", "maxItems"), ("len_eq", "minItems")):
            if key in checks:
                out[keyword] = checks[key]
        if "len_eq" in checks:
            out["maxItems"] = checks["len_eq"]
        if "contains" in checks:
            out["contains"] = {"const": checks["contains"]}
    elif ftype == "map":
        out.update(type="object", additionalProperties=_field(fdef.values), propertyNames=_base(fdef.keys))
    elif ftype == "record":
        out.update(_record(fdef.record))
    elif ftype == "foreign":
        out.update(
            type="object", properties={"id": {"type": "string", "pattern": _UUID_PATTERN}}, required=["id"]
        )
    elif ftype == "json":
        out.update(jsonable((fdef.attrs.get("json_schema") or {}).get("inline") or {}))
    if "eq" in checks:
        out["const"] = jsonable(checks["eq"])
    if "one_of" in checks:
        out["enum"] = jsonable(list(checks["one_of"]))
    if "ne" in checks and checks["ne"] is not None:
        extra.append({"not": {"const": jsonable(checks["ne"])}})
    if "not_one_of" in checks:
        extra.append({"not": {"enum": jsonable(list(checks["not_one_of"]))}})
    if extra:
        out["allOf"] = out.get("allOf", []) + extra
    return out


def _field(fdef: FieldDef) -> dict[str, Any]:
    attrs = fdef.attrs
    if "eq" in attrs and attrs["eq"] is None:
        out: dict[str, Any] = {"type": "null"}
    else:
        out = _base(fdef)
        nullable = not fdef.required and not ("ne" in attrs and attrs["ne"] is None)
        if nullable:
            out = _nullable(out)
    if isinstance(attrs.get("description"), str):
        out["description"] = attrs["description"]
    if fdef.default is not MISSING:
        out["default"] = jsonable(fdef.default)
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    if isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _nonempty(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"not": {"enum": [None, "", [], {}]}}}}


def _checks(record: RecordDef) -> list[dict[str, Any]]:
    """The entity checks JSON Schema can state on an input document."""
    out: list[dict[str, Any]] = []
    if record.shorthands:
        return out  # a shorthand may fill the fields after the input is read
    for check in record.entity_checks:
        names = check.arg if isinstance(check.arg, list | tuple) else None
        if not names or any("." in n or n not in record.fields for n in names):
            continue
        if any(record.fields[n].default not in (MISSING, None) for n in names):
            continue  # a default could satisfy the check after normalization
        terms = [_nonempty(n) for n in names]
        if check.name == "at_least_one_of":
            out.append({"anyOf": terms})
        elif check.name == "only_one_of":
            out.append({"oneOf": terms})
        elif check.name == "mutually_required":
            out.append({"anyOf": [{"allOf": terms}, {"not": {"anyOf": terms}}]})
        elif check.name == "mutually_exclusive":
            out.append({"not": {"anyOf": [{"allOf": [a, b]} for a, b in combinations(terms, 2)]}})
    return out


def _record(record: RecordDef) -> dict[str, Any]:
    properties = {name: _field(fdef) for name, fdef in record.fields.items()}
    for short in record.shorthands:
        properties.setdefault(short.name, _nullable(_base(short.field)))
    required = [
        name
        for name, fdef in record.fields.items()
        if fdef.required and fdef.default is MISSING and fdef.record is None and not fdef.attrs.get("auto")
    ]
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    checks = _checks(record)
    if checks:
        out["allOf"] = checks
    return out


def to_json_schema(schema: Schema) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) for documents the schema accepts."""
    out: dict[str, Any] = {"$schema": JSON_SCHEMA_DRAFT}
    if schema.name:
        out["title"] = schema.name
    out.update(_record(schema.record))
    return out
