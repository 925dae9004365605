"""A marketplace repository's ``index.json``: ``moongate market index|list|search``.

A marketplace repository is a folder of plugin packages: archives made by ``moongate
plugin pack`` (``<name>-<version>.tar.gz`` with its ``.sha256``) and/or package folders
(holding ``plugin.yaml``).  :func:`build_index` validates every package (checksum,
metadata, the plugin loaded alone) and describes each one::

    {"format": 1, "generator": "moongate 0.1.0", "plugins": [
      {"name": "api-version", "version": "1.2.0", "description": ..., "categories": [...],
       "language": "lua", "publisher": ..., "license": ..., "requires-gateway": ">=0.1,<0.2",
       "scopes": [...], "protocols": [...], "priority": 1000, "phases": ["access"],
       "archive": "api-version-1.2.0.tar.gz", "sha256": "...",   (or "path": "src/api-version")
       "compatible": true, "schema": {JSON Schema of the config}}]}

``compatible`` says whether the Moongate that built the index satisfies
``requires-gateway``; clients compare the range with their own version.
"""

from __future__ import annotations

import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from host.authorkit.locate import LocateError, locate
from host.authorkit.metadata import METADATA_FILE, check_compatible
from host.authorkit.package import PackageError, checked_report, sha256_of, unpack
from host.authorkit.validate import config_json_schema
from host.version import MOONGATE_VERSION

__all__ = ["build_index", "load_index", "search", "INDEX_FILE", "IndexError_"]

INDEX_FILE = "index.json"
FORMAT = 1
_REQUIRED = ("name", "version", "language", "requires-gateway", "schema")


class IndexError_(Exception):  # noqa: N801 - IndexError is a builtin
    """The index cannot be built or read; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _entry(package_root: Path, where: dict[str, str]) -> dict[str, Any]:
    try:
        target = locate(package_root)
    except LocateError as err:
        raise PackageError([str(err)]) from None
    report, meta = checked_report(target)
    spec = report.spec
    assert spec is not None  # checked_report raises when the plugin did not load
    return {
        **meta.as_dict(),
        "priority": spec.priority,
        "phases": list(spec.phases),
        **where,
        "compatible": check_compatible(meta) is None,
        "schema": config_json_schema(spec),
    }


def _package_folders(root: Path) -> list[Path]:
    return sorted(
        p.parent
        for p in root.rglob(METADATA_FILE)
        if not any(part.startswith(".") or part in ("dist", "build") for part in p.relative_to(root).parts)
        and not any((q / METADATA_FILE).is_file() for q in p.parent.parents if root in q.parents)
    )


def build_index(directory: str | Path, *, write: bool = True) -> dict[str, Any]:
    """Validate every package under ``directory`` and write ``directory/index.json``;
    raises :class:`IndexError_` listing every problem (nothing is written then)."""
    root = Path(directory)
    if not root.is_dir():
        raise IndexError_([f"{directory}: not a directory"])
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    for archive in sorted(root.rglob("*.tar.gz")):
        rel = archive.relative_to(root).as_posix()
        if not archive.with_name(archive.name + ".sha256").is_file():
            problems.append(f"{rel}: no {archive.name}.sha256 next to it (moongate plugin pack writes one)")
            continue
        with tempfile.TemporaryDirectory(prefix="moongate-index-") as tmp:
            try:
                entry = _entry(unpack(archive, Path(tmp)), {"archive": rel, "sha256": sha256_of(archive)})
            except PackageError as err:
                problems += [f"{rel}: {p}" for p in err.problems]
                continue
        expected = f"{entry['name']}-{entry['version']}.tar.gz"
        if archive.name != expected:
            problems.append(f"{rel}: named {archive.name}, but its plugin.yaml says {expected}")
            continue
        entries.append(entry)
    for folder in _package_folders(root):
        rel = folder.relative_to(root).as_posix() or "."
        try:
            entries.append(_entry(folder, {"path": rel}))
        except PackageError as err:
            problems += [f"{rel}: {p}" for p in err.problems]
    seen: dict[tuple[str, str], str] = {}
    for entry in entries:
        key = (entry["name"], entry["version"])
        where = entry.get("archive") or entry.get("path", "")
        if key in seen:
            problems.append(f"{where}: {key[0]} {key[1]} is also in {seen[key]}")
        seen[key] = where
    if problems:
        raise IndexError_(problems)
    entries.sort(key=lambda e: (e["name"], _version_key(e["version"])), reverse=False)
    index = {"format": FORMAT, "generator": f"moongate {MOONGATE_VERSION}", "plugins": entries}
    if write:
        (root / INDEX_FILE).write_text(json.dumps(index, indent=2, sort_keys=False) + "\n")
    return index


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def load_index(location: str) -> dict[str, Any]:
    """Read and check an index from a file path or an http(s)/file URL."""
    try:
        if "://" in location:
            with urllib.request.urlopen(location, timeout=30) as resp:  # noqa: S310 - the operator's URL
                text = resp.read().decode("utf-8")
        else:
            text = Path(location).read_text(encoding="utf-8")
        index = json.loads(text)
    except (OSError, ValueError) as err:
        raise IndexError_([f"{location}: cannot read the index: {err}"]) from None
    problems = []
    if (
        not isinstance(index, dict)
        or index.get("format") != FORMAT
        or not isinstance(index.get("plugins"), list)
    ):
        raise IndexError_([f"{location}: not a Moongate marketplace index (format {FORMAT})"])
    for i, entry in enumerate(index["plugins"]):
        missing = [k for k in _REQUIRED if not isinstance(entry, dict) or k not in entry]
        if missing:
            problems.append(f"{location}: plugins[{i}]: missing {', '.join(missing)}")
    if problems:
        raise IndexError_(problems)
    return index


def latest(index: dict[str, Any]) -> list[dict[str, Any]]:
    """The newest version of each plugin, by name."""
    newest: dict[str, dict[str, Any]] = {}
    for entry in index["plugins"]:
        current = newest.get(entry["name"])
        if current is None or _version_key(entry["version"]) > _version_key(current["version"]):
            newest[entry["name"]] = entry
    return [newest[name] for name in sorted(newest)]


def search(index: dict[str, Any], term: str) -> list[dict[str, Any]]:
    """The newest version of each plugin whose name, description, categories or publisher
    contain ``term`` (case-insensitive)."""
    needle = term.lower()

    def matches(entry: dict[str, Any]) -> bool:
        fields = [entry["name"], entry.get("description", ""), entry.get("publisher", "")]
        fields += entry.get("categories", [])
        return any(needle in str(f).lower() for f in fields)

    return [e for e in latest(index) if matches(e)]
