"""Cross-field rules (Kong's ``Schema.entity_checkers``) and the machinery that runs them.

A check only sees the fields it names.  As in Kong, a check is skipped when one
of its required fields is absent (the field gets ``field required for entity
check``), when a field it reads already has an error (unless the checker runs on
invalid fields), or, on partial updates, when none of its fields is present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from host.schema.messages import MESSAGES, MISSING, SchemaDefinitionError, lua_format, quoted_list
from host.schema.validators import call_custom, is_reference, lua_equal

if TYPE_CHECKING:
    from host.schema._compile import FieldDef, RecordDef

__all__ = [
    "CHECKERS",
    "EntityCheck",
    "compile_check",
    "run_entity_checks",
    "is_nonempty",
    "get_path",
    "set_path",
]

ValidateFn = Callable[["FieldDef", Any], Any]
CheckResult = tuple[bool, str | None, str | None]


def is_nonempty(value: Any) -> bool:
    """Kong's ``is_nonempty``: not absent, not null, not ``""``, not an empty table."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def get_path(data: Any, dotted: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; ``MISSING`` when any step is absent or not a table."""
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return MISSING
        data = data[part]
    return data


def set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """``tree["a"]["b"] = value`` for ``"a.b"``, creating intermediate dicts."""
    *heads, last = dotted.split(".")
    for part in heads:
        nxt = tree.get(part)
        if not isinstance(nxt, dict):
            nxt = tree[part] = {}
        tree = nxt
    tree[last] = value


@dataclass(eq=False)
class EntityCheck:
    """One compiled entity check."""

    name: str
    arg: Any
    fields: tuple[str, ...]
    required: frozenset[str]
    run_missing: bool
    run_invalid: bool
    if_def: FieldDef | None = None
    then_def: FieldDef | None = None
    else_def: FieldDef | None = None


# -- checkers: fn(entity projection, check, errors, validate) -> (ok, err, custom_err) --------


def _names_nonempty(entity: dict[str, Any], names: list[str]) -> list[str]:
    return [n for n in names if is_nonempty(get_path(entity, n))]


def _at_least_one_of(
    entity: dict[str, Any], check: EntityCheck, errors: dict, validate: ValidateFn
) -> CheckResult:
    if _names_nonempty(entity, check.arg):
        return True, None, None
    return False, quoted_list(check.arg), None


def _conditional_at_least_one_of(
    entity: dict, check: EntityCheck, errors: dict, validate: ValidateFn
) -> CheckResult:
    arg = check.arg
    if_value = get_path(entity, arg["if_field"])
    if if_value is MISSING:
        return True, None, None
    if validate(check.if_def, if_value) is None:
        names, template = arg.get("then_at_least_one_of") or [], arg.get("then_err")
    elif check.else_def is not None and validate(check.else_def, if_value) is None:
        names, template = arg.get("else_then_at_least_one_of") or [], arg.get("else_then_err")
    else:
        return True, None, None
    if _names_nonempty(entity, names):
        return True, None, None
    listed = quoted_list(names)
    return False, listed, (lua_format(template, listed) if template else None)


def _only_one_of(
    entity: dict[str, Any], check: EntityCheck, errors: dict, validate: ValidateFn
) -> CheckResult:
    if len(_names_nonempty(entity, check.arg)) == 1:
        return True, None, None
    return False, quoted_list(check.arg), None


def _distinct(entity: dict[str, Any], check: EntityCheck, errors: dict, validate: ValidateFn) -> CheckResult:
    seen: list[Any] = []
    for name in check.arg:
        value = get_path(entity, name)
        if is_nonempty(value):
            if any(lua_equal(value, other) for other in seen):
                return False, quoted_list(check.arg), None
            seen.append(value)
    return True, None, None


def _conditional(
    entity: dict[str, Any], check: EntityCheck, errors: dict, validate: ValidateFn
) -> CheckResult:
    arg = check.arg
    if_value = get_path(entity, arg["if_field"])
    then_value = get_path(entity, arg["then_field"])
    if_value = None if if_value is MISSING else if_value
    then_value = None if then_value is MISSING else then_value
    if validate(check.if_def, if_value) is not None:
        return True, None, None
    if arg["then_match"].get("required") is True and then_value is None:
        set_path(errors, arg["then_field"], MESSAGES["REQUIRED"])
        return False, arg["if_field"], None
    err = validate(check.then_def, then_value)
    if err is None:
        return True, None, None
    set_path(errors, arg["then_field"], err)
    template = arg.get("then_err")
    return False, arg["if_field"], (lua_format(template, arg["if_field"]) if template else None)


def _custom_entity_check(
    entity: dict[str, Any], check: EntityCheck, errors: dict, validate: ValidateFn
) -> CheckResult:
    view: dict[str, Any] = {}  # nested like the entity: "config.x" is view["config"]["x"] (Kong's set_field)
    for name in check.fields:
        value = get_path(entity, name)
        set_path(view, name, None if value is MISSING else value)
    ok, err = call_custom(check.arg["fn"], view)
    return ok, err, None


def _mutually_required(
    entity: dict[str, Any], check: EntityCheck, errors: dict, validate: ValidateFn
) -> CheckResult:
    count = len(_names_nonempty(entity, check.arg))
    if count in (0, len(check.arg)):
        return True, None, None
    return False, quoted_list(check.arg), None


def _mutually_exclusive(
    entity: dict[str, Any], check: EntityCheck, errors: dict, validate: ValidateFn
) -> CheckResult:
    if len(_names_nonempty(entity, check.arg)) <= 1:
        return True, None, None
    return False, quoted_list(check.arg), None


def _mutually_exclusive_sets(
    entity: dict, check: EntityCheck, errors: dict, validate: ValidateFn
) -> CheckResult:
    first = _names_nonempty(entity, check.arg["set1"])
    second = _names_nonempty(entity, check.arg["set2"])
    if first and second:
        return False, f"({quoted_list(first)}), ({quoted_list(second)})", None
    return True, None, None


@dataclass(frozen=True)
class _Checker:
    fn: Callable[[dict, EntityCheck, dict, ValidateFn], CheckResult]
    sources: tuple[str, ...] | None  # argument keys naming fields; None: the argument is the field list
    required_sources: frozenset[str]
    run_missing: bool
    run_invalid: bool


CHECKERS: dict[str, _Checker] = {
    "at_least_one_of": _Checker(_at_least_one_of, None, frozenset(), True, True),
    "conditional_at_least_one_of": _Checker(
        _conditional_at_least_one_of,
        ("if_field", "then_at_least_one_of", "else_then_at_least_one_of"),
        frozenset(),
        True,
        True,
    ),
    "only_one_of": _Checker(_only_one_of, None, frozenset(), False, True),
    "distinct": _Checker(_distinct, None, frozenset(), False, True),
    "conditional": _Checker(_conditional, ("if_field", "then_field"), frozenset({"if_field"}), False, True),
    "custom_entity_check": _Checker(
        _custom_entity_check, ("field_sources",), frozenset({"field_sources"}), False, False
    ),
    "mutually_required": _Checker(_mutually_required, None, frozenset(), True, False),
    "mutually_exclusive": _Checker(_mutually_exclusive, None, frozenset(), True, False),
    "mutually_exclusive_sets": _Checker(_mutually_exclusive_sets, ("set1", "set2"), frozenset(), True, False),
}

_STRING_LISTS = {
    "at_least_one_of": (),
    "only_one_of": (),
    "distinct": (),
    "mutually_required": (),
    "mutually_exclusive": (),
}
_RECORD_ARGS = {
    "conditional": ({"if_field", "then_field"}, {"if_match", "then_match"}),
    "conditional_at_least_one_of": ({"if_field", "then_at_least_one_of"}, {"if_match"}),
    "custom_entity_check": ({"field_sources", "fn"}, set()),
    "mutually_exclusive_sets": ({"set1", "set2"}, set()),
}


def _is_names(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def compile_check(
    item: Any, record: RecordDef, sub: RecordDef | None, path: str, compile_field: Callable
) -> EntityCheck:
    """Check the shape of one ``entity_checks`` entry and resolve the fields it names."""
    where = f"{path}: entity check" if path else "entity check"
    if not isinstance(item, dict) or len(item) != 1:
        raise SchemaDefinitionError(f"{where} must be a one-key table, got {item!r}")
    ((name, arg),) = item.items()
    checker = CHECKERS.get(name)
    if checker is None:
        raise SchemaDefinitionError(f"{where}: unknown entity check '{name}'")
    where = f"{where} '{name}'"
    if name in _STRING_LISTS and not (_is_names(arg) and arg):
        raise SchemaDefinitionError(f"{where}: expected a list of field names")
    if name in _RECORD_ARGS:
        needed, matches = _RECORD_ARGS[name]
        if not isinstance(arg, dict) or not needed <= set(arg):
            raise SchemaDefinitionError(f"{where}: expected a table with {', '.join(sorted(needed))}")
        for key in matches | ({"else_match"} & set(arg)):
            if not isinstance(arg.get(key), dict):
                raise SchemaDefinitionError(f"{where}: '{key}' must be a table")
        if name == "custom_entity_check" and not (callable(arg["fn"]) and _is_names(arg["field_sources"])):
            raise SchemaDefinitionError(f"{where}: needs 'field_sources' (field names) and a callable 'fn'")

    fields: list[str] = []
    required: set[str] = set()
    if checker.sources is None:
        fields, required = list(arg), set(arg)
    else:
        for source in checker.sources:
            value = arg.get(source)
            names = [value] if isinstance(value, str) else list(value or ())
            fields.extend(names)
            if source in checker.required_sources:
                required.update(names)
    for fname in fields:
        if record.resolve(fname, sub) is None:
            raise SchemaDefinitionError(f"{where} refers to unknown field '{fname}'")

    check = EntityCheck(
        name=name,
        arg=arg,
        fields=tuple(fields),
        required=frozenset(required),
        run_missing=checker.run_missing
        or (isinstance(arg, dict) and bool(arg.get("run_with_missing_fields"))),
        run_invalid=checker.run_invalid
        or (isinstance(arg, dict) and bool(arg.get("run_with_invalid_fields"))),
    )
    if name in ("conditional", "conditional_at_least_one_of"):
        base = record.resolve(arg["if_field"], sub)
        check.if_def = compile_field(base.name, {**base.raw, **arg["if_match"]}, f"{base.path}<if_match>")
        if "else_match" in arg:
            check.else_def = compile_field(
                base.name, {**base.raw, **arg["else_match"]}, f"{base.path}<else_match>"
            )
    if name == "conditional":
        then = record.resolve(arg["then_field"], sub)
        check.then_def = compile_field(
            then.name, {**then.raw, **arg["then_match"]}, f"{then.path}<then_match>"
        )
    return check


def _error_at(errors: dict[str, Any], dotted: str) -> bool:
    node: Any = errors
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _run(
    check: EntityCheck,
    record: RecordDef,
    sub: RecordDef | None,
    data: dict,
    full: bool,
    errors: dict,
    validate: ValidateFn,
) -> None:
    checker = CHECKERS[check.name]
    projection: dict[str, Any] = {}
    missing: list[str] = []
    all_absent, all_ok = True, True
    for fname in check.fields:
        value = get_path(data, fname)
        if value is MISSING:
            if not check.run_missing and fname in check.required:
                missing.append(fname)
        else:
            all_absent = False
            fdef = record.resolve(fname, sub)
            if (
                fdef is not None
                and fdef.type == "string"
                and fdef.attrs.get("referenceable")
                and is_reference(value)
            ):
                return
            set_path(projection, fname, value)
        if _error_at(errors, fname):
            all_ok = False
    if not all_ok and not check.run_invalid:
        return
    if all_absent and not (checker.run_missing and full):
        return
    if missing:
        for fname in missing:
            set_path(errors, fname, MESSAGES["REQUIRED_FOR_ENTITY_CHECK"])
        return
    ok, err, custom = checker.fn(projection, check, errors, validate)
    if ok:
        return
    if custom:
        message = custom
    else:
        template = MESSAGES.get(check.name.upper())
        message = lua_format(template, err) if template and err is not None else err
        if message is None:
            message = lua_format(MESSAGES["ENTITY_CHECK"], check.name, ", ".join(check.fields))
    errors.setdefault("@entity", []).append(message)


def run_entity_checks(
    record: RecordDef, sub: RecordDef | None, data: dict, full: bool, errors: dict, validate: ValidateFn
) -> None:
    """Run the record's checks, then those of the selected subschema; errors go into ``errors``."""
    for check in record.entity_checks:
        _run(check, record, None, data, full, errors, validate)
    if sub is not None:
        for check in sub.entity_checks:
            _run(check, record, sub, data, full, errors, validate)
