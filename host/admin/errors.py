"""Admin API errors in Kong's shapes (``kong/db/errors.lua``, ``kong/api/endpoints.lua``).

Handlers raise :class:`AdminError`; the app's middleware turns it into the JSON
response.  Loader errors (:class:`~host.config.ConfigError`, one line per
problem) of a write are mapped to Kong's codes: a uniqueness violation is 409
``unique constraint violation``, a dangling reference 400 ``foreign key
violation``, anything else 400 ``schema violation`` with the written entity's
fields in ``fields``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from host.schema import flatten_errors

__all__ = [
    "AdminError",
    "not_found",
    "method_not_allowed",
    "bad_request",
    "schema_violation",
    "operation_unsupported",
    "from_config_error",
    "lua_key",
]

_FIELD = re.compile(r"^[A-Za-z0-9_.\[\]@-]+$")
_UNIQUE = re.compile(r"^uniqueness violation: '[^']+' entity with (.+) already declared")
_UNIQUE_PAIR = re.compile(r"(\w+) set to '((?:[^']|'(?! already| set))*)'")
_REFERENCE = re.compile(r"^invalid reference '(\w+): (.*)' \(no such entry in '([^']+)'\)$")


class AdminError(Exception):
    """An Admin API error response: status and JSON body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found() -> AdminError:
    return AdminError(404, {"message": "Not found"})


def method_not_allowed() -> AdminError:
    return AdminError(405, {"message": "Method not allowed"})


def bad_request(message: str) -> AdminError:
    return AdminError(400, {"message": message})


def lua_key(fields: dict[str, Any]) -> str:
    """Kong's rendering of a key in messages: ``{name="x"}``."""
    parts = []
    for name, value in fields.items():
        if isinstance(value, dict):
            shown = lua_key(value)
        elif value is None:
            shown = "null"
        elif isinstance(value, str):
            shown = f'"{value}"'
        else:
            shown = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"{name}={shown}")
    return "{" + ",".join(parts) + "}"


def _summary(pairs: list[tuple[str, str]]) -> str:
    """``schema violation (host: required field missing)`` / ``2 schema violations (a; b)``."""
    entity = [m for p, m in pairs if p.endswith("@entity")]
    fields = [f"{p}: {m}" for p, m in pairs if not p.endswith("@entity")]
    parts = entity + fields
    if len(parts) == 1:
        return f"schema violation ({parts[0]})"
    return f"{len(parts)} schema violations ({'; '.join(parts)})"


def schema_violation(fields: dict[str, Any]) -> AdminError:
    """400 ``schema violation`` with Kong's error tree in ``fields``."""
    message = _summary(flatten_errors(fields)) if fields else "schema violation"
    return AdminError(400, {"code": 2, "name": "schema violation", "message": message, "fields": fields})


def operation_unsupported(verb: str, entity: str) -> AdminError:
    """DB-less mode: 405 for entity writes (``cannot create 'services' entities ...``)."""
    message = f"cannot {verb} '{entity}' entities when not using a database"
    return AdminError(405, {"code": 12, "name": "operation unsupported", "message": message})


def _parse_line(line: str, source: str) -> tuple[str | None, str | None, str]:
    """``admin: routes[3] (name=x): paths[0]: msg`` -> (``routes[3]``, ``paths[0]``, ``msg``)."""
    rest = line[len(source) + 2 :] if line.startswith(source + ": ") else line
    match = re.match(r"^([a-z0-9_]+\[\d+\](?:\.[a-z0-9_]+\[\d+\])*)(?: \([^)]*\))?: (.*)$", rest)
    if match is None:
        return None, None, rest
    path, rest = match.group(1), match.group(2)
    head, sep, tail = rest.partition(": ")
    if sep and _FIELD.match(head):
        return path, head, tail
    return path, None, rest


def _set_path(tree: dict[str, Any], dotted: str, message: str) -> None:
    """Put ``message`` at ``config.paths[0]`` in Kong's tree (array errors as JSON arrays)."""
    node: Any = tree
    steps: list[str | int] = []
    for part in dotted.split("."):
        name, *indexes = re.split(r"\[(\d+)\]", part)
        steps.append(name)
        steps += [int(i) for i in indexes if i != ""]
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if following is None:
            _put(node, step, message)
            return
        child = _get(node, step)
        if not isinstance(child, (dict, list)):
            child = [] if isinstance(following, int) else {}
            _put(node, step, child)
        node = child


def _get(node: Any, step: str | int) -> Any:
    if isinstance(node, list):
        return node[step] if isinstance(step, int) and step < len(node) else None
    return node.get(step)


def _put(node: Any, step: str | int, value: Any) -> None:
    if isinstance(node, list) and isinstance(step, int):
        node.extend([None] * (step + 1 - len(node)))
        node[step] = value
    elif isinstance(node, dict):
        node[step] = value


def from_config_error(errors: list[str], source: str, entity_path: str) -> AdminError:
    """The Admin API error for the loader's ``errors`` about the entity at ``entity_path``."""
    fields: dict[str, Any] = {}
    others: list[str] = []
    for line in errors:
        path, field, message = _parse_line(line, source)
        unique = _UNIQUE.match(message)
        if unique is not None:
            pairs = dict(_UNIQUE_PAIR.findall(unique.group(1)))
            key = lua_key(pairs) if pairs else unique.group(1)
            return AdminError(
                409,
                {
                    "code": 5,
                    "name": "unique constraint violation",
                    "message": f"UNIQUE violation detected on '{key}'",
                    "fields": pairs,
                },
            )
        reference = _REFERENCE.match(message)
        if reference is not None and path == entity_path:
            fk, value, target = reference.groups()
            try:
                ref = json.loads(value) if value.startswith("{") else {"id": value}
            except ValueError:
                ref = {"id": value}
            shown = lua_key(ref) if isinstance(ref, dict) else value
            return AdminError(
                400,
                {
                    "code": 4,
                    "name": "foreign key violation",
                    "message": f"the foreign key '{shown}' does not reference an existing '{target}' entity.",
                    "fields": {fk: ref},
                },
            )
        if path == entity_path:
            if field is None:
                fields.setdefault("@entity", []).append(message)
            else:
                _set_path(fields, field, message)
        else:
            others.append(f"{path}: {message}" if path else message)
    if others and not fields:
        return AdminError(400, {"message": "; ".join(others)})
    return schema_violation(fields)
