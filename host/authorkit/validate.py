"""Load one plugin alone and report every problem: ``moongate plugin validate`` and ``info``.

:func:`validate` runs the static checks (syntax, phase names, ``require`` targets), then
loads the plugin the way the gateway does (Lua into a fresh runtime at the chosen trust
level; Python imported and registered through pluggy) and turns each failure into a
:class:`~host.authorkit.metadata.Problem` naming the file and, where it can, the line.
The package's metadata (``plugin.yaml``) is checked and compared with the loaded plugin.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.authorkit import lua_checks
from host.authorkit.locate import Target
from host.authorkit.metadata import Metadata, Problem, has_metadata, read_metadata
from host.plugins.spec import PluginLoadError, PluginSpec
from host.settings import Settings

__all__ = ["Report", "validate", "spec_info", "config_json_schema"]

_MISSING_MODULE = re.compile(r"module '([^']+)' not found")
_SCHEMA_FIELD = re.compile(r"\bconfig\.([\w.]+):")
#: reasons of a PluginLoadError -> (regex of the line it is about, Python, Lua)
_REASON_LINES = (
    ("PRIORITY", r"^\s*PRIORITY\s*=", r"\bPRIORITY\s*="),
    ("VERSION", r"^\s*VERSION\s*=", r"\bVERSION\s*="),
    ("NAME", r"^\s*NAME\s*=", r"\bNAME\s*="),
    ("SCHEMA", r"^\s*SCHEMA\s*=", r"^$^"),
)


@dataclass
class Report:
    """What ``validate`` found: the problems, the loaded spec and the package metadata."""

    target: Target
    problems: list[Problem] = field(default_factory=list)
    spec: PluginSpec | None = None
    metadata: Metadata | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(target: Target, *, trust: str = "trusted", require_metadata: bool = False) -> Report:
    """Every problem of the plugin at ``target`` (``trust``: ``trusted`` or ``sandboxed``,
    the level it is loaded at).  The package's metadata is checked when there is some,
    and must be there with ``require_metadata`` (packing, installing)."""
    report = Report(target)
    if target.language == "lua":
        _validate_lua(report, trust)
    else:
        if trust != "trusted":
            report.problems.append(
                Problem(str(target.path), f"trust level {trust!r} applies to Lua plugins only")
            )
        _validate_python(report)
    if require_metadata or has_metadata(target.root):
        _check_metadata(report)
    return report


# -- Lua ---------------------------------------------------------------------------------------


def _validate_lua(report: Report, trust: str) -> None:
    from host.lua.runtime import LuaHost
    from host.lua.trust import Placement

    target = report.target
    handler_file = target.path / "handler.lua"
    settings = Settings(plugin_trust={target.name: trust})
    host = LuaHost(settings)
    files = target.files
    syntax = lua_checks.syntax_problems(host, files)
    report.problems += syntax
    if handler_file.is_file():
        report.problems += lua_checks.phase_problems(handler_file)
    report.problems += lua_checks.require_problems(target.name, target.path, files)
    if syntax:  # loading would only repeat the compiler's message
        return
    try:
        report.spec = Placement(settings, host).load(target.name, target.path, "plugins_dir")
    except PluginLoadError as exc:
        missing = _MISSING_MODULE.search(exc.reason)
        if missing and any(p.message.startswith(f"require '{missing[1]}'") for p in report.problems):
            return  # the static check already named the file and line
        report.problems.append(_lua_load_problem(exc, handler_file, report.problems))


def _lua_load_problem(exc: PluginLoadError, handler_file: Path, known: list[Problem]) -> Problem:
    """A load failure, at the file:line the Lua message names (or the field it is about)."""
    if exc.source.endswith("schema.lua"):
        field_path = _SCHEMA_FIELD.search(exc.reason)
        key = field_path[1].rsplit(".", 1)[-1] if field_path else None
        line = lua_checks.line_of(Path(exc.source), rf"\b{re.escape(key)}\s*=") if key else None
        return Problem(exc.source, exc.reason, line)
    file, line, rest = lua_checks.split_location(exc.reason)
    if file is not None:
        resolved = next((p.file for p in known if p.file.endswith(file)), None)
        return Problem(resolved or file, rest if "not found" not in rest else exc.reason, line)
    source = Path(exc.source)
    for word, _py, lua_pattern in _REASON_LINES:
        if exc.reason.startswith(word):
            return Problem(str(source), exc.reason, lua_checks.line_of(handler_file, lua_pattern))
    return Problem(str(source), exc.reason)


# -- Python ------------------------------------------------------------------------------------


def _validate_python(report: Report) -> None:
    target = report.target
    for path in target.files:
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as err:
            report.problems.append(Problem(str(path), f"syntax error: {err.msg}", err.lineno))
    if report.problems:
        return
    module = _import(report)
    if module is None:
        return
    from host.plugins import kong_python_pdk
    from host.plugins.python_loader import load_python_plugin

    try:
        obj: Any = module
        if kong_python_pdk.is_kong_python_pdk_plugin(obj):
            obj = kong_python_pdk.adapt(obj, target.name)
        report.spec = load_python_plugin(obj, default_name=target.name)
    except PluginLoadError as exc:
        report.problems.append(_python_load_problem(exc, target))
    except Exception as exc:  # noqa: BLE001 - e.g. an attribute raising while inspected
        report.problems.append(Problem(str(target.path), f"failed to load: {exc!r}"))


def _import(report: Report) -> Any:
    """Import the plugin's module afresh from its files, under the private name the gateway
    gives plugin-directory modules (a plugin named like a library, ``jwt``, must not shadow
    it); a failure becomes a problem."""
    from host.plugins.python_loader import _import_path

    target = report.target
    base = str(target.base or target.path.parent)
    dotted = "." in target.module
    if dotted:  # an entry point into a sub-module: import it by its own name
        top = target.module.split(".", 1)[0]
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]
        sys.path.insert(0, base)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(target.module) if dotted else _import_path(target.path)
    except ModuleNotFoundError as exc:
        file, line = _plugin_frame(exc, target)
        missing = exc.name or str(exc)
        report.problems.append(
            Problem(
                file,
                f"missing Python dependency '{missing}': install it (and list it in the "
                "package's dependencies)",
                line,
            )
        )
    except Exception as exc:  # noqa: BLE001 - any import-time failure is the plugin's
        file, line = _plugin_frame(exc, target)
        report.problems.append(Problem(file, f"import failed: {exc!r}", line))
    finally:
        if dotted:
            sys.path.remove(base)
    return None


def _plugin_frame(exc: BaseException, target: Target) -> tuple[str, int | None]:
    """The innermost traceback frame in the plugin's own files (file, line)."""
    root = str(target.path if target.path.is_dir() else target.path.parent)
    found: tuple[str, int | None] = (str(target.path), None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root):
            found = (frame.filename, frame.lineno)
    return found


def _python_load_problem(exc: PluginLoadError, target: Target) -> Problem:
    source = Path(exc.source)
    file = source if source.is_file() else target.path
    if file.is_dir():
        file = file / "__init__.py"
    reason = exc.reason
    if reason.startswith("method '"):
        method = reason.split("'", 2)[1]
        pattern = rf"^\s*(async\s+)?def\s+{method}\b"
        return (
            Problem(str(file), reason, _line_in(target, pattern)[1] or None)
            if method
            else Problem(str(file), reason)
        )
    field_path = _SCHEMA_FIELD.search(reason) if "SCHEMA" in reason else None
    if field_path:
        key = re.escape(field_path[1].rsplit(".", 1)[-1])
        where, line = _line_in(target, rf"[\"']{key}[\"']\s*:")
        if line:
            return Problem(where or str(file), reason, line)
    for word, py_pattern, _lua in _REASON_LINES:
        if word in reason.split(":", 1)[0] or reason.startswith(word) or reason.startswith(f"invalid {word}"):
            where, line = _line_in(target, py_pattern)
            return Problem(where or str(file), reason, line)
    return Problem(str(file), reason)


def _line_in(target: Target, pattern: str) -> tuple[str | None, int | None]:
    for path in target.files:
        line = lua_checks.line_of(path, pattern)
        if line:
            return str(path), line
    return None, None


# -- metadata and info -------------------------------------------------------------------------


def _check_metadata(report: Report) -> None:
    meta, problems = read_metadata(report.target.root)
    report.problems += problems
    report.metadata = meta
    spec = report.spec
    if meta is None or spec is None:
        return
    if meta.name != spec.name:
        report.problems.append(
            Problem(meta.source, f"name: {meta.name!r} but the plugin is named {spec.name!r}")
        )
    if meta.version != spec.version:
        report.problems.append(
            Problem(meta.source, f"version: {meta.version!r} but the plugin's VERSION is {spec.version!r}")
        )
    if meta.language != spec.language:
        report.problems.append(
            Problem(meta.source, f"language: {meta.language!r} but the plugin is written in {spec.language}")
        )


def config_json_schema(spec: PluginSpec) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the plugin's ``config`` object."""
    from host.schema.export import JSON_SCHEMA_DRAFT, to_json_schema

    entity = to_json_schema(spec.schema)
    config = dict(entity.get("properties", {}).get("config") or {"type": "object"})
    return {"$schema": JSON_SCHEMA_DRAFT, "title": f"{spec.name} configuration", **config}


def spec_info(spec: PluginSpec, metadata: Metadata | None = None) -> dict[str, Any]:
    """What ``moongate plugin info`` prints."""
    info: dict[str, Any] = {
        "name": spec.name,
        "version": spec.version,
        "priority": spec.priority,
        "phases": list(spec.phases),
        "language": spec.language,
        "source": spec.source,
        "schema": config_json_schema(spec),
    }
    if metadata is not None:
        info["metadata"] = metadata.as_dict()
    return info
