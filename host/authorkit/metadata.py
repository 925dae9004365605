"""A plugin package's metadata: ``plugin.yaml`` (or ``[tool.moongate.plugin]`` in pyproject).

The fields a marketplace needs to list, search and install a plugin::

    name: api-version                 # what operators write in kong.yml
    version: 1.2.0                    # the plugin's VERSION
    description: Adds the API version header
    categories: [transformations]
    language: lua                     # lua | python
    publisher: Acme
    license: Apache-2.0
    requires-gateway: ">=0.1,<1"      # PEP 440 specifier set, checked against Moongate's version
    scopes: [global, service, route, consumer]
    protocols: [http, https]

Every problem is reported (not only the first), each as a :class:`Problem` naming the
file, the line of the field when the file is YAML, and what was expected.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from host.version import MOONGATE_VERSION

__all__ = ["Metadata", "Problem", "has_metadata", "read_metadata", "check_compatible", "METADATA_FILE"]

METADATA_FILE = "plugin.yaml"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
VERSION_RE = re.compile(r"\d+(\.\d+){0,2}")
LANGUAGES = ("lua", "python")
SCOPES = ("global", "service", "route", "consumer")
PROTOCOLS = ("http", "https", "grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss")
_LISTS = {"categories": None, "scopes": SCOPES, "protocols": PROTOCOLS}
_TEXT = ("description", "publisher", "license")


@dataclass
class Problem:
    """One problem found in a plugin: where (file, line when known) and what."""

    file: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


@dataclass
class Metadata:
    """The validated metadata of one plugin package (``raw``: the fields as read)."""

    name: str
    version: str
    language: str
    description: str = ""
    categories: list[str] = field(default_factory=list)
    publisher: str = ""
    license: str = ""
    requires_gateway: str = ""
    scopes: list[str] = field(default_factory=lambda: list(SCOPES))
    protocols: list[str] = field(default_factory=lambda: ["http", "https"])
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The ``plugin.yaml`` spelling (``requires-gateway``)."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "categories": list(self.categories),
            "language": self.language,
            "publisher": self.publisher,
            "license": self.license,
            "requires-gateway": self.requires_gateway,
            "scopes": list(self.scopes),
            "protocols": list(self.protocols),
        }


def _key_lines(text: str) -> dict[str, int]:
    """Line (1-based) of each top-level key of a YAML mapping document."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + 1 for k, _v in node.value if isinstance(k, yaml.ScalarNode)}


def _raw_from(root: Path) -> tuple[dict[str, Any], str, dict[str, int], list[Problem]]:
    """The raw metadata of the package at ``root``: plugin.yaml first, else pyproject's table."""
    meta_file = root / METADATA_FILE
    if meta_file.is_file():
        text = meta_file.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            return {}, str(meta_file), {}, [Problem(str(meta_file), f"not valid YAML: {err}", line)]
        if not isinstance(data, dict):
            return {}, str(meta_file), {}, [Problem(str(meta_file), "must be a mapping of fields")]
        return data, str(meta_file), _key_lines(text), []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            doc = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            return {}, str(pyproject), {}, [Problem(str(pyproject), f"not valid TOML: {err}")]
        table = doc.get("tool", {}).get("moongate", {}).get("plugin")
        if isinstance(table, dict):
            project = doc.get("project", {})
            data = {"description": project.get("description", ""), **table}
            data.setdefault("version", project.get("version"))
            data.setdefault("language", "python")
            return data, f"{pyproject} [tool.moongate.plugin]", {}, []
    return {}, str(meta_file), {}, [Problem(str(meta_file), "missing: a plugin package needs plugin.yaml")]


def has_metadata(root: Path) -> bool:
    """Whether ``root`` holds package metadata (plugin.yaml, or pyproject's table)."""
    if (root / METADATA_FILE).is_file():
        return True
    pyproject = root / "pyproject.toml"
    return pyproject.is_file() and "[tool.moongate.plugin]" in pyproject.read_text(encoding="utf-8")


def read_metadata(root: Path) -> tuple[Metadata | None, list[Problem]]:
    """Read and check the metadata of the package at ``root``: (metadata or None, problems)."""
    raw, source, lines, problems = _raw_from(root)
    if problems:
        return None, problems

    def bad(key: str, message: str) -> None:
        problems.append(Problem(source, f"{key}: {message}", lines.get(key)))

    known = {"name", "version", "language", "requires-gateway", *_LISTS, *_TEXT}
    for key in raw:
        if key not in known:
            bad(str(key), f"unknown field (known: {', '.join(sorted(known))})")
    name, version, language = raw.get("name"), raw.get("version"), raw.get("language")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        bad("name", f"required: lower-case letters, digits, '-' and '_', got {name!r}")
    if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
        bad("version", f"required: a version like '1.0.0' (quote it in YAML), got {version!r}")
    if language not in LANGUAGES:
        bad("language", f"required: one of {', '.join(LANGUAGES)}, got {language!r}")
    requires = raw.get("requires-gateway", "")
    if not isinstance(requires, str):
        bad("requires-gateway", f"must be a version specifier string like '>=0.1,<1', got {requires!r}")
        requires = ""
    else:
        try:
            SpecifierSet(requires)
        except InvalidSpecifier:
            bad("requires-gateway", f"not a PEP 440 version specifier: {requires!r} (e.g. '>=0.1,<1')")
    values: dict[str, Any] = {}
    for key, allowed in _LISTS.items():
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad(key, f"must be a list of strings, got {value!r}")
            continue
        unknown = [v for v in value if allowed is not None and v not in allowed]
        if unknown:
            bad(key, f"unknown value(s) {', '.join(unknown)} (allowed: {', '.join(allowed or ())})")
            continue
        values[key] = value
    for key in _TEXT:
        value = raw.get(key, "")
        if not isinstance(value, str):
            bad(key, f"must be a string, got {value!r}")
        else:
            values[key] = value
    if problems:
        return None, problems
    return (
        Metadata(
            name=name,
            version=version,
            language=language,
            requires_gateway=requires,
            source=source,
            **values,
        ),
        [],
    )


def check_compatible(meta: Metadata, gateway_version: str = MOONGATE_VERSION) -> str | None:
    """Why ``meta`` cannot run on this gateway version, or None when it can."""
    if not meta.requires_gateway:
        return None
    try:
        ok = SpecifierSet(meta.requires_gateway).contains(Version(gateway_version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion) as err:
        return f"cannot check requires-gateway {meta.requires_gateway!r}: {err}"
    if ok:
        return None
    return (
        f"plugin '{meta.name}' {meta.version} requires gateway {meta.requires_gateway}, "
        f"this is Moongate {gateway_version}"
    )
