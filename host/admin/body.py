"""Request bodies of Admin API writes: JSON, or forms coerced by the entity's schema.

Kong accepts ``application/json``, ``application/x-www-form-urlencoded`` and
``multipart/form-data``.  Form keys nest with dots (``config.minute=5``) and
arrays repeat or use brackets (``paths[]=/a&paths[]=/b``, ``hosts[1]=x``); the
string values are converted with the schema's field types (integers, numbers,
booleans, arrays), since a form has no types of its own.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from host.admin.errors import AdminError, bad_request
from host.schema import Schema
from host.schema._compile import FieldDef, RecordDef

__all__ = ["read_body", "coerce_form"]

_INDEX = re.compile(r"\[(\d*)\]$")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_body(request: web.Request, schema_for: Any = None) -> dict[str, Any]:
    """The request's body as an entity document (``{}`` when empty).

    ``schema_for(raw)`` gives the schema that types a form's values (None: keep strings).
    """
    if len(request.headers.getall("Content-Type", [])) > 1:
        raise bad_request("several Content-Type headers")
    raw = await request.read()
    if not raw.strip():
        return {}
    ctype = request.content_type
    if ctype == "application/json" or ctype == "application/octet-stream" and raw.lstrip()[:1] == b"{":
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise bad_request("Cannot parse JSON body") from None
        if not isinstance(body, dict):
            raise bad_request("Cannot parse JSON body: expected an object")
        return body
    if ctype in _FORMS:
        pairs = [(k, v) for k, v in (await request.post()).items() if isinstance(v, str)]
        nested = _nest(pairs)
        schema = schema_for(nested) if schema_for is not None else None
        return coerce_form(nested, schema.record) if schema is not None else nested
    raise AdminError(415, {"message": f"Unsupported Content-Type: {ctype}"})


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        match = _INDEX.search(key)
        array = match is not None
        if match is not None:
            key = key[: match.start()]
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise bad_request(f"'{key}' mixes a value and a record")
        last = parts[-1]
        if last in node:
            current = node[last]
            node[last] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            node[last] = [value] if array else value
    return out


def _coerce(value: Any, fdef: FieldDef | None) -> Any:
    if fdef is None:
        return value
    kind = fdef.type
    if kind in ("array", "set"):
        items = value if isinstance(value, list) else [value]
        if items == [""]:
            return []
        return [_coerce(item, fdef.elements) for item in items]
    if isinstance(value, dict):
        if fdef.record is not None:
            return coerce_form(value, fdef.record)
        return value
    if not isinstance(value, str):
        return value
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number":
        try:
            return float(value) if not re.fullmatch(r"-?\d+", value) else int(value)
        except ValueError:
            return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    if kind == "foreign":
        return {"id": value}
    return value


def coerce_form(data: dict[str, Any], record: RecordDef) -> dict[str, Any]:
    """Form values converted to the types of ``record``'s fields (unknown fields kept)."""
    return {k: _coerce(v, record.fields.get(k)) for k, v in data.items()}


def schema_of(schema: Schema | None) -> Any:
    return (lambda _raw: schema) if schema is not None else None
