"""Read a declarative file: JSON or YAML (decided by content), with errors that point at the line.

Also the on-the-fly migration of ``_format_version`` 1.1/2.1 files: route paths
that look like regexes get the ``~`` prefix Kong 3.x requires
(``kong/db/declarative/migrations/route_path.lua``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from host.schema._text import normalize_path

__all__ = ["ParseError", "parse_text", "migrate_route_paths"]

_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ParseError(ValueError):
    """The text is neither valid JSON nor valid YAML; ``str()`` is ``line L, column C: problem``."""


class _StrictLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """YAML 1.1 safe loading, but a key repeated in one mapping is an error instead of a silent overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                marker = (key_node.tag, key_node.value)
                if marker in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"duplicate key '{key_node.value}'",
                        key_node.start_mark,
                    )
                seen.add(marker)
        return super().construct_mapping(node, deep=deep)


def _yaml_error(exc: yaml.YAMLError) -> ParseError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return ParseError(problem)
    return ParseError(f"line {mark.line + 1}, column {mark.column + 1}: {problem}")


def parse_text(text: str) -> Any:
    """Parse JSON when the text looks like a JSON document, else YAML."""
    stripped = text.lstrip("\ufeff \t\r\n")
    json_error: json.JSONDecodeError | None = None
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text.lstrip("\ufeff"))
        except json.JSONDecodeError as exc:
            json_error = exc
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        if json_error is not None:
            raise ParseError(
                f"line {json_error.lineno}, column {json_error.colno}: {json_error.msg}"
            ) from None
        raise _yaml_error(exc) from None


# -- 1.1 / 2.1 route path migration ------------------------------------------------------------

_NOT_REGEX = re.compile(r"[a-zA-Z0-9.\-_~/%]*\Z")
_TRIPLET = re.compile(r"%([0-9A-Fa-f]{2})")
_RESERVED = frozenset(b"!#$%&'()*+,/:;=?@[]")
_META = {0x2E: r"\.", 0x5E: r"\^", 0x2D: r"\-", 0x7B: r"\{", 0x7D: r"\}", 0x5C: "\\\\", 0x7C: r"\|"}


def _migrate_path(path: str) -> str:
    if _NOT_REGEX.match(path):
        return normalize_path(path, True)

    def decode(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        if code in _RESERVED:
            return match.group(0).upper()
        return _META.get(code, chr(code))

    return "~" + _TRIPLET.sub(decode, path)


def migrate_route_paths(document: dict[str, Any]) -> None:
    """Rewrite the route paths of a 1.1/2.1 document for 3.0 (in place), as Kong does on load."""

    def routes_of(container: Any) -> list[Any]:
        value = container.get("routes") if isinstance(container, dict) else None
        return value if isinstance(value, list) else []

    routes = routes_of(document)
    services = document.get("services")
    for service in services if isinstance(services, list) else []:
        routes = routes + routes_of(service)
    for route in routes:
        paths = route.get("paths") if isinstance(route, dict) else None
        if isinstance(paths, list):
            route["paths"] = [_migrate_path(p) if isinstance(p, str) else p for p in paths]
