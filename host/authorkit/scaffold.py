"""``moongate plugin new``: a complete plugin project whose tests pass right away.

Lua (Kong's layout)::

    <name>/kong/plugins/<name>/handler.lua, schema.lua
    <name>/tests/test_<module>.py, pytest.ini

Python (an installable package with the ``moongate.plugins`` entry point)::

    <name>/plugins/<module>/__init__.py
    <name>/pyproject.toml          entry point + [tool.moongate.plugin]
    <name>/tests/test_<module>.py, pytest.ini

Both get ``plugin.yaml`` (marketplace metadata), ``README.md`` and a GitHub Actions
workflow (``.github/workflows/test.yml``).
"""

from __future__ import annotations

from pathlib import Path

from host.authorkit import _templates
from host.authorkit.metadata import NAME_RE
from host.version import MOONGATE_VERSION

__all__ = ["new_project", "ScaffoldError", "requires_range"]


class ScaffoldError(Exception):
    """The project cannot be made (bad name, the folder exists)."""


def requires_range(version: str = MOONGATE_VERSION) -> str:
    """The ``requires-gateway`` of a new plugin: this release up to the next major (or, before
    1.0, the next minor: 0.x releases may break plugins)."""
    parts = [int(p) for p in version.split(".")[:2]] + [0]
    major, minor = parts[0], parts[1]
    upper = f"{major + 1}" if major >= 1 else f"0.{minor + 1}"
    return f">={major}.{minor},<{upper}"


def new_project(name: str, language: str, directory: str | Path = ".") -> tuple[Path, list[Path]]:
    """Write the project of plugin ``name`` in ``directory/name``; (its root, files written)."""
    if not NAME_RE.fullmatch(name) or name.endswith(("-", "_")):
        raise ScaffoldError(
            f"invalid plugin name {name!r}: use lower-case letters, digits and '-' (e.g. 'api-version')"
        )
    if language not in ("lua", "python"):
        raise ScaffoldError(f"unknown language {language!r}: lua or python")
    root = Path(directory) / name
    if root.exists() and any(root.iterdir()):
        raise ScaffoldError(f"{root} exists and is not empty")
    module = name.replace("-", "_")
    values = {
        "name": name,
        "module": module,
        "title": "".join(part.capitalize() for part in module.split("_")),
        "header": "X-" + "-".join(part.capitalize() for part in module.split("_")),
        "language": language,
        "requires": requires_range(),
        "plugins_dir": "." if language == "lua" else "plugins",
    }
    templates = {**_templates.COMMON, **(_templates.LUA if language == "lua" else _templates.PYTHON)}
    written = []
    for rel, template in templates.items():
        path = root / rel.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
        written.append(path)
    return root, written
