"""The :class:`Schema` object: one compiled definition used for validation, defaults and export."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from host.schema._compile import FieldDef, RecordDef, compile_record
from host.schema._engine import merge_errors, process_record, validate_field, validate_record
from host.schema.messages import MESSAGES, MISSING, SchemaDefinitionError

__all__ = ["Schema", "flatten_errors"]


class Schema:
    """A Kong schema definition (``{"fields": [...], "entity_checks": [...], ...}``), compiled once.

    ``entity=True`` applies Kong's entity rule that record fields are required
    unless they say ``required = False`` (so their defaults are always expanded);
    core entities and plugin entities are built that way.
    """

    def __init__(self, definition: dict[str, Any], *, name: str | None = None, entity: bool = False) -> None:
        if not isinstance(definition, dict):
            raise SchemaDefinitionError("expected a definition table")
        if "fields" not in definition:
            raise SchemaDefinitionError("error in schema definition: no 'fields' table")
        self.name: str | None = name or definition.get("name")
        self.definition = definition
        self.entity = entity
        prefix = self.name or ""
        try:
            self.record: RecordDef = compile_record(definition, "", entity=entity)
        except SchemaDefinitionError as exc:
            raise SchemaDefinitionError(f"schema '{prefix}': {exc}" if prefix else str(exc)) from None
        #: top-level field names that /schemas/plugins/{name} shows (None: all)
        self.export_fields: list[str] | None = None
        self._check_defaults()

    def _check_defaults(self) -> None:
        """Each default must itself be a valid value of its field (Kong's metaschema rule)."""
        for fdef in self.record.walk():
            if fdef.default is None or fdef.default is MISSING:
                continue
            err = validate_field(fdef, copy.deepcopy(fdef.default))
            if err is not None:
                where = f"{self.name}: " if self.name else ""
                raise SchemaDefinitionError(f"{where}{fdef.path}: invalid default {fdef.default!r}: {err}")

    # -- introspection ---------------------------------------------------------------------
    @property
    def fields(self) -> dict[str, FieldDef]:
        """Top-level fields in order."""
        return self.record.fields

    def field(self, dotted: str) -> FieldDef | None:
        """The field at a dotted path (``config.minute``), or None."""
        return self.record.resolve(dotted)

    def unique_fields(self) -> list[str]:
        """Top-level fields declared ``unique``."""
        return [name for name, fdef in self.fields.items() if fdef.attrs.get("unique")]

    def foreign_fields(self) -> dict[str, str]:
        """Top-level foreign keys: field name -> referenced entity."""
        return {name: f.attrs["reference"] for name, f in self.fields.items() if f.type == "foreign"}

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __repr__(self) -> str:
        return f"<Schema {self.name or '?'}: {', '.join(self.fields)}>"

    # -- validation ------------------------------------------------------------------------
    def validate(
        self, data: dict[str, Any], *, partial: bool = False, auto: bool = True
    ) -> tuple[dict, dict]:
        """Normalize and validate ``data``; return ``(normalized, errors)``.

        ``normalized`` has shorthands applied, defaults filled (``None`` for unset
        optional fields) and, with ``auto``, missing ``auto`` values generated
        (uuid ids, random strings, timestamps).  ``errors`` is Kong's error tree,
        e.g. ``{"config": {"minute": "expected a number"}, "@entity": [...]}``,
        empty when the data is valid.  ``partial`` validates an update: no
        defaults, and absent required fields are not errors.  ``data`` is not modified.
        """
        if not isinstance(data, dict):
            return data, {"@entity": [MESSAGES["RECORD"]]}
        errors: dict[Any, Any] = {}
        normalized = process_record(
            self.record, copy.deepcopy(data), partial=partial, auto=auto, errors=errors
        )
        checked = validate_record(self.record, normalized, full=not partial)
        return normalized, merge_errors(checked, errors)

    def defaults(self) -> dict[str, Any]:
        """A document with every default filled in (``None`` for fields without one)."""
        return process_record(self.record, {}, partial=False, auto=False, errors={})

    # -- export ----------------------------------------------------------------------------
    def to_kong(self) -> dict[str, Any]:
        """The JSON Kong's Admin API returns at ``/schemas/plugins/{name}`` (callables omitted)."""
        from host.schema.export import to_kong

        return to_kong(self)

    def to_json_schema(self) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) describing valid input documents."""
        from host.schema.export import to_json_schema

        return to_json_schema(self)


def flatten_errors(errors: dict[Any, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten an error tree into ``(path, message)`` pairs.

    Record fields join with ``.``, array elements are ``name[i]`` and entity-check
    messages use ``@entity`` (``config.@entity`` for a nested record):
    ``[("config.minute", "expected a number"), ("paths[0]", "should start with: /")]``.
    """
    out: list[tuple[str, str]] = []
    for key, value in errors.items():
        if key == "@entity":
            path = f"{prefix}.@entity" if prefix else "@entity"
            messages = value if isinstance(value, list) else [value]
            out.extend((path, str(m)) for m in messages)
            continue
        path = _join_path(prefix, key)
        if isinstance(value, dict):
            out.extend(flatten_errors(value, path))
        elif isinstance(value, list):
            out.extend((path, str(m)) for m in value)
        else:
            out.append((path, str(value)))
    return out


def _join_path(prefix: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)
