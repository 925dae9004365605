"""Compile schema definitions (Kong's DSL as Python data) into checked, indexed objects.

Every structural mistake in a definition is reported here, once, as a
:class:`SchemaDefinitionError` naming the field path: unknown types and
attributes, validators that do not fit the type, malformed validator arguments,
entity checks naming unknown fields, and so on.  As in Kong's metaschema, nested
definitions a type does not use (``elements`` on a number) are checked, then ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from host.schema.entity_checks import EntityCheck, compile_check
from host.schema.lua_pattern import LuaPatternError, compile_lua_pattern
from host.schema.messages import MISSING, SchemaDefinitionError
from host.schema.validators import _ANY as ALL_TYPES
from host.schema.validators import VALIDATOR_ORDER, VALIDATOR_TYPES

__all__ = ["FieldDef", "RecordDef", "ShorthandDef", "compile_field", "compile_record", "MISSING", "TYPES"]


TYPES = ALL_TYPES
_PLAIN_ATTRS = frozenset(
    {
        "type", "required", "default", "description", "auto", "unique", "unique_across_ws", "immutable",
        "referenceable", "encrypted", "err", "examples", "deprecation", "json_schema", "transient",
        "abstract", "generate_admin_api", "nilable", "legacy",
    }
)  # fmt: skip
_TYPED_ATTRS = {
    "elements": frozenset({"array", "set"}),
    "keys": frozenset({"map"}),
    "values": frozenset({"map"}),
    "fields": frozenset({"record"}),
    "entity_checks": frozenset({"record"}),
    "shorthand_fields": frozenset({"record"}),
    "reference": frozenset({"foreign"}),
    "on_delete": frozenset({"foreign"}),
}
_NESTED = frozenset({"elements", "keys", "values", "fields", "entity_checks", "shorthand_fields"})


@dataclass(eq=False)
class FieldDef:
    """One compiled field: its type, flags, nested definitions and ordered validators."""

    name: str
    path: str
    type: str
    attrs: dict[str, Any]  # the definition without nested definitions (``required`` normalized)
    required: bool
    raw: dict[str, Any]  # the definition as given, for conditional checks that specialise it
    default: Any = MISSING
    elements: FieldDef | None = None
    keys: FieldDef | None = None
    values: FieldDef | None = None
    record: RecordDef | None = None
    checks: tuple[tuple[str, Any], ...] = ()

    @property
    def err(self) -> str | None:
        return self.attrs.get("err")

    def has(self, attr: str) -> bool:
        return attr in self.attrs


@dataclass(eq=False)
class ShorthandDef:
    """A write-only alias field: its value is validated, removed, and ``func(value)`` merged in."""

    name: str
    field: FieldDef
    func: Callable[[Any], Any]
    deprecated: bool
    replaced_paths: tuple[tuple[str, ...], ...]
    raw: dict[str, Any]


@dataclass(eq=False)
class RecordDef:
    """A compiled record (or a whole schema): fields in order, checks, shorthands, subschemas."""

    path: str
    fields: dict[str, FieldDef]
    entity_checks: list[EntityCheck] = field(default_factory=list)
    shorthands: list[ShorthandDef] = field(default_factory=list)
    subschema_key: str | None = None
    subschema_error: str | None = None
    subschemas: dict[str, RecordDef] = field(default_factory=dict)
    raw_checks: list[dict[str, Any]] = field(default_factory=list)
    _merged: dict[int, dict[str, FieldDef]] = field(default_factory=dict, repr=False)

    def subschema_for(self, data: Any) -> RecordDef | None:
        """The subschema selected by ``data[subschema_key]`` (first known element of a set)."""
        if not self.subschema_key or not isinstance(data, dict):
            return None
        key = data.get(self.subschema_key)
        if isinstance(key, str):
            return self.subschemas.get(key)
        if isinstance(key, list):
            for item in key:
                if isinstance(item, str) and item in self.subschemas:
                    return self.subschemas[item]
        return None

    def field_map(self, sub: RecordDef | None = None) -> dict[str, FieldDef]:
        """Fields in schema order, with the subschema's specialisations (computed once per subschema)."""
        if sub is None:
            return self.fields
        merged = self._merged.get(id(sub))
        if merged is None:
            merged = self._merged[id(sub)] = {
                name: sub.fields.get(name, fdef) for name, fdef in self.fields.items()
            }
        return merged

    def resolve(self, dotted: str, sub: RecordDef | None = None) -> FieldDef | None:
        """The field at a dotted path such as ``config.minute``."""
        head, _, rest = dotted.partition(".")
        fdef = self.field_map(sub).get(head)
        if fdef is None or not rest:
            return fdef
        if fdef.record is None:
            return None
        return fdef.record.resolve(rest)

    def walk(self) -> Iterator[FieldDef]:
        """Every field definition below this record, depth first."""
        records = [self, *self.subschemas.values()]
        for record in records:
            for fdef in record.fields.values():
                yield from _walk_field(fdef)


def _walk_field(fdef: FieldDef) -> Iterator[FieldDef]:
    yield fdef
    for child in (fdef.elements, fdef.keys, fdef.values):
        if child is not None:
            yield from _walk_field(child)
    if fdef.record is not None:
        yield from fdef.record.walk()


def _fail(path: str, message: str) -> SchemaDefinitionError:
    return SchemaDefinitionError(f"{path}: {message}" if path else message)


def _check_validator_arg(path: str, name: str, arg: Any) -> None:
    """Reject validator arguments of the wrong shape."""
    ok = True
    if name in ("one_of", "not_one_of"):
        ok = isinstance(arg, list | tuple)
    elif name == "gt":
        ok = isinstance(arg, int | float) and not isinstance(arg, bool)
    elif name == "between":
        ok = (
            isinstance(arg, list | tuple)
            and len(arg) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in arg)
        )
    elif name in ("len_eq", "len_min", "len_max"):
        ok = isinstance(arg, int) and not isinstance(arg, bool) and arg >= 0
    elif name == "starts_with":
        ok = isinstance(arg, str)
    elif name in ("match", "not_match"):
        ok = isinstance(arg, str)
        patterns = [arg] if ok else []
    elif name in ("match_all", "match_none"):
        ok = isinstance(arg, list | tuple) and all(
            isinstance(i, dict) and isinstance(i.get("pattern"), str) for i in arg
        )
        patterns = [i["pattern"] for i in arg] if ok else []
    elif name == "match_any":
        ok = isinstance(arg, dict) and isinstance(arg.get("patterns"), list | tuple)
        ok = ok and all(isinstance(p, str) for p in arg["patterns"])
        patterns = list(arg["patterns"]) if ok else []
    elif name in ("uuid", "timestamp", "is_regex"):
        ok = isinstance(arg, bool)
    elif name == "custom_validator":
        ok = callable(arg)
    elif name == "mutually_exclusive_subsets":
        ok = isinstance(arg, list | tuple) and all(isinstance(s, list | tuple) for s in arg)
    if not ok:
        raise _fail(path, f"invalid argument for validator '{name}': {arg!r}")
    if name in ("match", "not_match", "match_all", "match_none", "match_any"):
        for pattern in patterns:
            try:
                compile_lua_pattern(pattern)
            except LuaPatternError as exc:
                raise _fail(path, f"invalid Lua pattern {pattern!r} in '{name}': {exc}") from exc


def _check_unused(path: str, attr: str, value: Any) -> None:
    """An attribute the field's type does not use (``elements`` on a number, ...).

    Kong's metaschema restricts only validator attributes to the types they fit; a nested
    definition on a type that does not use it is still checked as a definition (so
    mistakes in it are reported) and then has no effect.  Plugins in the wild carry such
    leftovers (Moesif's ``batch_size`` has ``elements``), so they are accepted here too.
    """
    if attr in ("elements", "keys", "values"):
        if not isinstance(value, dict):
            raise _fail(path, f"'{attr}' must be a table")
        compile_field(attr, value, f"{path}.{attr}", forced_required=True)
    elif attr == "fields":
        for fname, fraw in _field_items(value, f"{path}.fields"):
            compile_field(fname, fraw, _join(path, fname))


def compile_field(
    name: str, raw: Any, path: str, *, entity: bool = False, forced_required: bool = False
) -> FieldDef:
    """Compile one field definition.

    ``entity`` makes records required unless they say otherwise (Kong's
    ``Entity.new``); ``forced_required`` is set for array elements and map
    keys/values, which Kong always treats as required.
    """
    if not isinstance(raw, dict):
        raise _fail(path, f"field definition must be a table, got {type(raw).__name__}")
    ftype = raw.get("type")
    if ftype is None:
        raise _fail(path, "missing attribute 'type'")
    if ftype not in TYPES:
        raise _fail(path, f"invalid type: {ftype}")
    for attr in raw:
        if attr in _PLAIN_ATTRS or attr in VALIDATOR_TYPES:
            allowed = VALIDATOR_TYPES.get(attr)
            if allowed is not None and ftype not in allowed:
                raise _fail(path, f"field of type '{ftype}' cannot have attribute '{attr}'")
            continue
        types = _TYPED_ATTRS.get(attr)
        if types is None:
            raise _fail(path, f"unknown attribute '{attr}'")
        if ftype not in types:
            _check_unused(path, attr, raw[attr])
    for name_ in VALIDATOR_ORDER:
        if name_ in raw:
            _check_validator_arg(path, name_, raw[name_])

    attrs = {k: v for k, v in raw.items() if k not in _NESTED}
    required = raw.get("required")
    if required is None:
        required = ftype == "record" and entity
        if required:
            attrs["required"] = True
    elif not isinstance(required, bool):
        raise _fail(path, "attribute 'required' must be a boolean")
    required = bool(required) or forced_required

    checks: list[tuple[str, Any]] = []
    for validator in VALIDATOR_ORDER:
        if validator in raw:
            if validator in ("uuid", "timestamp", "is_regex") and raw[validator] is False:
                continue
            checks.append((validator, raw[validator]))
        elif validator == "len_min" and ftype == "string":
            checks.append(("len_min", 1))  # Kong rejects empty strings unless len_min says otherwise
    fdef = FieldDef(
        name=name, path=path, type=ftype, attrs=attrs, required=required, raw=raw, checks=tuple(checks)
    )
    if "default" in raw:
        fdef.default = raw["default"]

    if ftype in ("array", "set"):
        if "elements" not in raw:
            raise _fail(path, f"field of type '{ftype}' must declare 'elements'")
        fdef.elements = compile_field(name, raw["elements"], f"{path}[]", forced_required=True)
    elif ftype == "map":
        for part in ("keys", "values"):
            if part not in raw:
                raise _fail(path, f"field of type 'map' must declare '{part}'")
        fdef.keys = compile_field(name, raw["keys"], f"{path}<key>", forced_required=True)
        fdef.values = compile_field(name, raw["values"], f"{path}<value>", forced_required=True)
    elif ftype == "record":
        if not isinstance(raw.get("fields"), list | tuple):
            raise _fail(path, "field of type 'record' must declare 'fields'")
        fdef.record = compile_record(raw, path, entity=entity)
    elif ftype == "foreign" and not isinstance(raw.get("reference"), str):
        raise _fail(path, "field of type 'foreign' must declare 'reference'")
    return fdef


def _field_items(raw_fields: Any, path: str) -> Iterator[tuple[str, Any]]:
    if not isinstance(raw_fields, list | tuple):
        raise _fail(path, "error in schema definition: no 'fields' table")
    for item in raw_fields:
        if not isinstance(item, dict) or len(item) != 1:
            raise _fail(
                path, f"each entry of 'fields' must be a one-key table {{name: definition}}, got {item!r}"
            )
        ((fname, fraw),) = item.items()
        if not isinstance(fname, str) or not fname:
            raise _fail(path, f"invalid field name {fname!r}")
        yield fname, fraw


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def compile_record(raw: dict[str, Any], path: str = "", *, entity: bool = False) -> RecordDef:
    """Compile a record definition (``fields``, ``entity_checks``, ``shorthand_fields``, subschemas)."""
    fields: dict[str, FieldDef] = {}
    for fname, fraw in _field_items(raw.get("fields"), path):
        if fname in fields:
            raise _fail(_join(path, fname), "duplicate field name")
        fields[fname] = compile_field(fname, fraw, _join(path, fname), entity=entity)
    record = RecordDef(path=path, fields=fields)
    record.shorthands = [_compile_shorthand(item, path, fields) for item in raw.get("shorthand_fields") or ()]

    key = raw.get("subschema_key")
    if key is not None:
        if key not in fields:
            raise _fail(path, f"subschema_key '{key}' is not a field")
        record.subschema_key = key
        record.subschema_error = raw.get("subschema_error")
        for sub_name, sub_raw in (raw.get("subschemas") or {}).items():
            record.subschemas[sub_name] = _compile_subschema(record, sub_name, sub_raw, path, entity)

    record.raw_checks = list(raw.get("entity_checks") or ())
    record.entity_checks = [
        compile_check(item, record, None, path, compile_field) for item in record.raw_checks
    ]
    return record


def _compile_subschema(parent: RecordDef, name: str, raw: Any, path: str, entity: bool) -> RecordDef:
    where = _join(path, f"<subschema {name}>")
    if not isinstance(raw, dict):
        raise _fail(where, "subschema definition must be a table")
    overlay: dict[str, FieldDef] = {}
    for fname, fraw in _field_items(raw.get("fields", []), where):
        base = parent.fields.get(fname)
        if base is None:
            raise _fail(where, f"{fname}: cannot create a new field")
        fdef = compile_field(fname, fraw, _join(path, fname), entity=entity)
        if fdef.type != base.type:
            raise _fail(where, f"{fname}: cannot change type in a specialized field")
        overlay[fname] = fdef
    sub = RecordDef(path=path, fields=overlay)
    sub.raw_checks = list(raw.get("entity_checks") or ())
    sub.entity_checks = [compile_check(item, parent, sub, where, compile_field) for item in sub.raw_checks]
    return sub


def _compile_shorthand(item: Any, path: str, fields: dict[str, FieldDef]) -> ShorthandDef:
    if not isinstance(item, dict) or len(item) != 1:
        raise _fail(path, f"each shorthand field must be a one-key table, got {item!r}")
    ((name, raw),) = item.items()
    where = _join(path, name)
    if not isinstance(raw, dict):
        raise _fail(where, "shorthand definition must be a table")
    extra = {"func", "translate_backwards", "translate_backwards_with"}
    fdef = compile_field(name, {k: v for k, v in raw.items() if k not in extra}, where)
    deprecation = raw.get("deprecation") or {}
    replaced = tuple(
        tuple(entry["path"])
        for entry in deprecation.get("replaced_with") or ()
        if isinstance(entry, dict) and isinstance(entry.get("path"), list | tuple)
    )
    if not replaced and isinstance(raw.get("translate_backwards"), list | tuple):
        replaced = (tuple(raw["translate_backwards"]),)
    func = raw.get("func")
    if func is None:
        if not replaced:
            raise _fail(where, "shorthand field needs a 'func' or a deprecation 'replaced_with' path")
        func = _path_setter(replaced[0])
    elif not callable(func):
        raise _fail(where, "shorthand 'func' must be callable")
    for target in replaced:
        if target and target[0] not in fields:
            raise _fail(where, f"shorthand replaced_with path {'.'.join(target)!r} is not a field")
    return ShorthandDef(name, fdef, func, bool(deprecation), replaced, raw)


def _path_setter(target: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    def func(value: Any) -> dict[str, Any]:
        out: Any = value
        for part in reversed(target):
            out = {part: out}
        return out

    return func
