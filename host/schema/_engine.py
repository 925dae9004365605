"""Processing (shorthands, defaults, auto values) and validation of values against compiled fields.

This mirrors Kong's ``process_auto_fields`` (context ``insert`` or ``update``) and
``validate``/``validate_field``.  ``None`` is Kong's ``null``; an absent key is
Lua's ``nil``.  Error trees use field names for record fields, 0-based ``int``
keys for array elements and ``"@entity"`` for a list of entity-check messages.
"""

from __future__ import annotations

import copy
import secrets
import time
import uuid
from typing import Any

from host.schema._compile import MISSING, FieldDef, RecordDef, compile_field
from host.schema.entity_checks import get_path, run_entity_checks
from host.schema.messages import MESSAGES, lua_format, lua_str
from host.schema.validators import VALIDATORS, is_reference

__all__ = ["process_record", "validate_field", "validate_record", "merge_errors"]

_UUID_FIELD = compile_field("id", {"type": "string", "uuid": True}, "id")
_DEPRECATION_MISMATCH = "both deprecated and new field are used but their values mismatch: %s = %s vs %s = %s"


def merge_errors(into: dict[Any, Any], other: dict[Any, Any]) -> dict[Any, Any]:
    """Deep-merge error tree ``other`` into ``into`` (``@entity`` lists are concatenated)."""
    for key, value in other.items():
        mine = into.get(key)
        if key == "@entity":
            into[key] = list(mine or []) + [m for m in value if m not in (mine or [])]
        elif isinstance(mine, dict) and isinstance(value, dict):
            merge_errors(mine, value)
        else:
            into[key] = value
    return into


def _auto_value(fdef: FieldDef, value: Any) -> Any:
    """Kong's ``auto`` fields on insert: uuid, random string, created_at/updated_at timestamps."""
    if fdef.attrs.get("uuid"):
        return str(uuid.uuid4()) if value is MISSING else value
    if fdef.type == "string":
        return secrets.token_urlsafe(24) if value is MISSING else value
    if fdef.name == "created_at" and value is not MISSING and value is not None:
        return value
    if fdef.name in ("created_at", "updated_at"):
        now = time.time()
        return int(now) if fdef.type == "integer" else round(now, 3)
    return value


def _missing_value(fdef: FieldDef, partial: bool, auto: bool, errors: dict[str, Any]) -> Any:
    """Kong's ``handle_missing_field``: default, else null, else an expanded required record."""
    if fdef.default is not MISSING:
        return copy.deepcopy(fdef.default)
    if not fdef.required:
        return None
    if fdef.record is not None:
        return process_record(fdef.record, {}, partial=partial, auto=auto, errors=errors)
    return MISSING


def _adjust(fdef: FieldDef, value: Any, partial: bool, auto: bool, errors: dict[Any, Any], key: Any) -> Any:
    """Kong's ``adjust_field_for_context``; shorthand errors of nested records go to ``errors[key]``."""
    nested: dict[Any, Any] = {}
    if (
        fdef.record is not None
        and value is not None
        and (value is not MISSING or (fdef.required and not partial))
    ):
        if value is MISSING:
            value = _missing_value(fdef, partial, auto, nested)
        if isinstance(value, dict):
            value = process_record(fdef.record, value, partial=partial, auto=auto, errors=nested)
    elif isinstance(value, list) and fdef.elements is not None:
        if fdef.type == "set":
            unique: list[Any] = []
            for item in value:
                if not any(item == seen and type(item) is type(seen) for seen in unique):
                    unique.append(item)
            value = unique
        value = [_adjust(fdef.elements, item, partial, auto, nested, i) for i, item in enumerate(value)]
    elif isinstance(value, dict) and fdef.values is not None:
        value = {k: _adjust(fdef.values, v, partial, auto, nested, k) for k, v in value.items()}
    elif fdef.type == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if nested:
        merge_errors(errors.setdefault(key, {}), nested)
    if value is MISSING and not partial:
        return _missing_value(fdef, partial, auto, {})
    return value


def _apply_shorthands(record: RecordDef, data: dict[Any, Any], errors: dict[Any, Any]) -> None:
    for short in record.shorthands:
        if short.name not in data:
            continue
        value = data.pop(short.name)
        err = validate_field(short.field, value)
        if err is None and short.deprecated and value is not None:
            for target in short.replaced_paths:
                current = get_path(data, ".".join(target))
                if current is not None and current is not MISSING and current != value:
                    err = lua_format(_DEPRECATION_MISMATCH, short.name, value, ".".join(target), current)
                    break
        if err is not None:
            errors[short.name] = err
            continue
        try:
            new_values = short.func(value)
        except Exception as exc:  # noqa: BLE001 - a broken shorthand is a field error, not a crash
            errors[short.name] = f"failed applying shorthand: {type(exc).__name__}: {exc}"
            continue
        for key, new in (new_values or {}).items():
            if isinstance(new, dict):
                source = data.get(key) if isinstance(data.get(key), dict) else {}
                if short.deprecated:
                    merged = dict(new)
                    merged.update({k: v for k, v in source.items() if k not in merged or v is not None})
                else:
                    merged = {**source, **new}
                data[key] = merged
            elif not short.deprecated or data.get(key) is None:
                data[key] = new


def process_record(
    record: RecordDef, data: dict[Any, Any], *, partial: bool, auto: bool, errors: dict[Any, Any]
) -> dict[Any, Any]:
    """Apply shorthands, auto values and defaults; return the result in schema field order.

    ``partial`` is Kong's ``update`` context: no defaults, no expansion of absent records.
    Shorthand errors are added to ``errors``.
    """
    _apply_shorthands(record, data, errors)
    out: dict[Any, Any] = {}
    fields = record.field_map(record.subschema_for(data))
    for name, fdef in fields.items():
        value = data.get(name, MISSING)
        if auto and not partial and fdef.attrs.get("auto"):
            value = _auto_value(fdef, value)
        value = _adjust(fdef, value, partial, auto, errors, name)
        if value is not MISSING:
            out[name] = value
    out.update((key, value) for key, value in data.items() if key not in fields)
    return out


def _type_error(fdef: FieldDef, value: Any) -> str | dict[Any, Any] | None:
    """Check the value's type (recursing into aggregates); None when it fits."""
    ftype = fdef.type
    if ftype in ("array", "set"):
        if not isinstance(value, list):
            return MESSAGES["ARRAY" if ftype == "array" else "SET"]
        errs = {}
        for index, item in enumerate(value):
            err = validate_field(fdef.elements, item)
            if err is not None:
                errs[index] = err
        return errs or None
    if ftype == "map":
        if not isinstance(value, dict):
            return MESSAGES["MAP"]
        for key, item in value.items():
            err = validate_field(fdef.keys, key)
            if err is None:
                err = validate_field(fdef.values, item)
            if err is not None:
                return err
        return None
    if ftype == "record":
        if not isinstance(value, dict):
            return MESSAGES["RECORD"]
        copied = process_record(fdef.record, copy.deepcopy(value), partial=False, auto=False, errors={})
        return validate_record(fdef.record, copied, full=True) or None
    if ftype == "foreign":
        if not isinstance(value, dict) or "id" not in value:
            return {"id": MESSAGES["MISSING_PK"]}
        if value["id"] is None:
            return {"id": MESSAGES["REQUIRED"]}
        err = validate_field(_UUID_FIELD, value["id"])
        return {"id": err} if err is not None else None
    if ftype == "integer":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not (
            ok and value == value and value not in (float("inf"), float("-inf")) and float(value).is_integer()
        ):
            return MESSAGES["INTEGER"]
    elif ftype == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            return MESSAGES["NUMBER"]
    elif ftype == "string":
        if not isinstance(value, str):
            return MESSAGES["STRING"]
    elif ftype == "boolean":
        if not isinstance(value, bool):
            return MESSAGES["BOOLEAN"]
    elif ftype == "function":
        if not callable(value):
            return MESSAGES["FUNCTION"]
    elif ftype == "json":
        return _json_schema_error(fdef, value)
    return None


def _json_schema_error(fdef: FieldDef, value: Any) -> str | None:
    inline = (fdef.attrs.get("json_schema") or {}).get("inline")
    if not inline:
        return None
    import jsonschema  # only schemas with inline JSON schemas need it

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(inline).iter_errors(value))
    return None if error is None else lua_format(MESSAGES["JSON_SCHEMA_ERROR"], error.message)


def validate_field(fdef: FieldDef, value: Any) -> str | dict[Any, Any] | None:
    """Kong's ``validate_field``: None when valid, else a message or an error tree."""
    attrs = fdef.attrs
    if value is None:
        if "ne" in attrs and attrs["ne"] is None:
            return fdef.err or lua_format(MESSAGES["NE"], "null")
        if "eq" in attrs and attrs["eq"] is not None:
            return lua_format(MESSAGES["EQ"], attrs["eq"])
        return MESSAGES["REQUIRED"] if fdef.required else None
    if "eq" in attrs and attrs["eq"] is None:
        return fdef.err or lua_format(MESSAGES["EQ"], "null")
    err = _type_error(fdef, value)
    if err is not None:
        return err
    if fdef.type == "string" and attrs.get("referenceable") and is_reference(value):
        return None
    for name, arg in fdef.checks:
        try:
            ok, message = VALIDATORS[name](value, arg)
        except (TypeError, ValueError, KeyError, IndexError):
            ok, message = False, None
        if not ok:
            if message is None:
                message = lua_format(MESSAGES.get(name.upper(), MESSAGES["VALIDATION"]), lua_str(value))
            return fdef.err or message
    return None


def validate_record(record: RecordDef, data: dict[Any, Any], *, full: bool) -> dict[Any, Any]:
    """Kong's ``Schema:validate``: field errors, required fields, then entity checks."""
    sub = None
    if record.subschema_key:
        key_name = record.subschema_key
        key = data.get(key_name)
        if key is None:
            return {key_name: MESSAGES["REQUIRED"]}
        sub = record.subschema_for(data)
        if sub is None and key != []:
            shown = key if isinstance(key, str) else (key[0] if isinstance(key, list) else key)
            return {key_name: lua_format(record.subschema_error or MESSAGES["SUBSCHEMA_UNKNOWN"], shown)}
    fields = record.field_map(sub)
    errors: dict[Any, Any] = {}
    for key, value in data.items():
        fdef = fields.get(key if isinstance(key, str) else str(key))
        if fdef is None:
            errors[key] = MESSAGES["UNKNOWN"]
            continue
        err = validate_field(fdef, value)
        if err is not None:
            errors[key] = err
    for name, fdef in fields.items():
        if fdef.required:
            value = data.get(name, MISSING)
            if value is None or (full and value is MISSING):
                errors[name] = MESSAGES["REQUIRED"]
    run_entity_checks(record, sub, data, full, errors, validate_field)
    return _ordered(errors, fields)


def _ordered(errors: dict[Any, Any], fields: dict[str, FieldDef]) -> dict[Any, Any]:
    """Schema order first, then unknown keys, then ``@entity``."""
    out = {name: errors[name] for name in fields if name in errors}
    out.update({k: v for k, v in errors.items() if k not in out and k != "@entity"})
    if "@entity" in errors:
        out["@entity"] = errors["@entity"]
    return out
