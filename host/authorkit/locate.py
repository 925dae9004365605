"""Finding the one plugin a path points at: a project, a Lua folder, a Python module or package.

``moongate plugin validate|info|pack|install`` accept any of::

    my-plugin/                              a project made by `moongate plugin new`
    my-plugin/kong/plugins/my-plugin/       a Lua plugin folder (handler.lua + schema.lua)
    my-plugin/kong/plugins/my-plugin/handler.lua
    plugins/my_plugin.py                    a Python plugin file
    plugins/my_plugin/                      a Python plugin package
    a Python project whose pyproject.toml declares a ``moongate.plugins`` entry point
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Target", "LocateError", "locate"]


class LocateError(Exception):
    """The path holds no plugin, or several and no way to choose."""


@dataclass
class Target:
    """One plugin on disk.

    ``root``: the package root (where ``plugin.yaml`` is, or would be); ``path``: the Lua
    folder, the Python file or package; ``module``: the Python module to import (its
    top-level package sits in ``path.parent``, or in ``base`` for an entry point).
    """

    name: str
    language: str
    root: Path
    path: Path
    module: str = ""
    base: Path | None = None

    @property
    def files(self) -> list[Path]:
        """The plugin's source files (``*.lua`` or ``*.py``), sorted."""
        suffix = ".lua" if self.language == "lua" else ".py"
        if self.path.is_file():
            return [self.path]
        return sorted(p for p in self.path.rglob(f"*{suffix}") if "__pycache__" not in p.parts)


def _yaml_name(root: Path) -> str | None:
    from host.authorkit.metadata import read_metadata

    meta, _problems = read_metadata(root)
    return meta.name if meta is not None else None


def _lua_folders(root: Path) -> list[Path]:
    from host.lua.loader import plugin_folders

    return [folder for _name, folder in plugin_folders(root)]


def _entry_point(root: Path) -> tuple[str, str] | None:
    """(name, module) of the first ``moongate.plugins`` entry point of ``root/pyproject.toml``."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        doc = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise LocateError(f"{pyproject}: not valid TOML: {err}") from None
    eps = doc.get("project", {}).get("entry-points", {}).get("moongate.plugins", {})
    for name, value in eps.items():
        return name, str(value).split(":", 1)[0].strip()
    return None


def _python_target(root: Path, name: str, module: str) -> Target:
    top = module.split(".", 1)[0]
    for base in (root / "plugins", root / "src", root):
        for candidate in (base / top, base / f"{top}.py"):
            if candidate.exists():
                path = candidate
                for part in module.split(".")[1:]:
                    path = path / part if (path / part).is_dir() else path / f"{part}.py"
                return Target(name, "python", root, path, module, base)
    raise LocateError(f"{root / 'pyproject.toml'}: entry point {name} = {module!r}: module not found")


def locate(path: str | Path) -> Target:
    """The plugin at ``path``; raises :class:`LocateError` when there is none."""
    p = Path(path).resolve()
    if not p.exists():
        raise LocateError(f"{path}: no such file or directory")
    if p.is_file():
        if p.name in ("handler.lua", "schema.lua"):
            return Target(p.parent.name, "lua", _package_root(p.parent), p.parent)
        if p.suffix == ".py":
            return Target(p.stem.replace("_", "-"), "python", _project_of(p), p, p.stem, p.parent)
        raise LocateError(f"{path}: not a plugin (expected handler.lua, a .py file or a folder)")
    if (p / "handler.lua").is_file():
        return Target(p.name, "lua", _package_root(p), p)
    if (p / "__init__.py").is_file() and not (p / "pyproject.toml").is_file():
        return Target(p.name.replace("_", "-"), "python", _project_of(p), p, p.name, p.parent)
    entry = _entry_point(p)
    if entry is not None:
        return _python_target(p, *entry)
    folders = _lua_folders(p)
    if len(folders) > 1:
        wanted = _yaml_name(p)
        folders = [f for f in folders if f.name == wanted] if wanted else folders
    if len(folders) == 1:
        return Target(folders[0].name, "lua", p, folders[0])
    if folders:
        names = ", ".join(f.name for f in folders)
        raise LocateError(f"{path}: holds several Lua plugins ({names}): give one plugin's folder")
    raise LocateError(
        f"{path}: no plugin found (looked for kong/plugins/<name>/handler.lua, <name>/handler.lua, "
        "a Python package, and a pyproject.toml with a 'moongate.plugins' entry point)"
    )


def _package_root(folder: Path) -> Path:
    """The project root of a Lua plugin folder: the directory above ``kong/plugins/<name>``
    when the folder sits in that layout and that directory has a plugin.yaml."""
    if folder.parent.name == "plugins" and folder.parent.parent.name == "kong":
        above = folder.parent.parent.parent
        if (above / "plugin.yaml").is_file():
            return above
    return folder


def _project_of(module_path: Path) -> Path:
    """The project root of a Python plugin in ``<project>/plugins/`` (or ``src/``) when that
    project has package metadata; else the folder holding the module."""
    from host.authorkit.metadata import has_metadata

    parent = module_path.parent
    if parent.name in ("plugins", "src") and has_metadata(parent.parent):
        return parent.parent
    return module_path if module_path.is_dir() else parent
