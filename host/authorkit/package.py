"""Plugin packages: ``moongate plugin pack`` and ``moongate plugin install``.

A package is a folder (or a ``<name>-<version>.tar.gz`` of that folder) holding the
plugin and its ``plugin.yaml``.  ``pack`` validates the plugin, then writes a
reproducible archive (sorted members, zero mtimes, so the same sources give the same
checksum) and ``<archive>.sha256`` in ``sha256sum``'s format.  ``install`` checks, in
order: the checksum (when a ``.sha256`` sits next to the archive), the metadata, the
gateway version against ``requires-gateway``, and the plugin itself (loaded alone);
then copies a Lua plugin into ``<plugins-dir>/kong/plugins/<name>/`` or pip-installs a
Python one into this environment.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from host.authorkit.locate import LocateError, Target, locate
from host.authorkit.metadata import METADATA_FILE, Metadata, check_compatible, read_metadata
from host.authorkit.validate import Report, validate

__all__ = ["PackageError", "pack", "unpack", "install", "sha256_of", "checked_report"]

_SKIP = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".venv", "dist", "build", "site"}


class PackageError(Exception):
    """A package was refused; ``problems`` lists every reason, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def checked_report(target: Target, trust: str = "trusted") -> tuple[Report, Metadata]:
    """Validate ``target`` and its metadata; raises :class:`PackageError` on any problem."""
    report = validate(target, trust=trust, require_metadata=True)
    if report.problems or report.metadata is None:
        raise PackageError([str(p) for p in report.problems] or [f"{target.root}: no metadata"])
    return report, report.metadata


def _members(root: Path, skip: Path | None) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _SKIP or part.endswith(".egg-info") for part in rel.parts):
            continue
        if skip is not None and (path == skip or skip in path.parents):
            continue
        if path.is_file():
            out.append(path)
    return out


def pack(path: str | Path, out_dir: str | Path | None = None) -> tuple[Path, Path, Metadata]:
    """Validate the plugin at ``path`` and write ``<name>-<version>.tar.gz`` and its ``.sha256``
    into ``out_dir`` (default: ``dist`` in the package root)."""
    try:
        target = locate(path)
    except LocateError as err:
        raise PackageError([str(err)]) from None
    _report, meta = checked_report(target)
    out = Path(out_dir) if out_dir is not None else target.root / "dist"
    out.mkdir(parents=True, exist_ok=True)
    prefix = f"{meta.name}-{meta.version}"
    archive = out / f"{prefix}.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for file in _members(target.root, out.resolve()):
            info = tarfile.TarInfo(f"{prefix}/{file.relative_to(target.root).as_posix()}")
            data = file.read_bytes()
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    with archive.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buffer.getvalue())
    checksum = archive.with_name(archive.name + ".sha256")
    checksum.write_text(f"{sha256_of(archive)}  {archive.name}\n")
    return archive, checksum, meta


def verify_checksum(archive: Path) -> str | None:
    """The problem with ``archive``'s checksum, or None (also when no .sha256 file exists)."""
    checksum = archive.with_name(archive.name + ".sha256")
    if not checksum.is_file():
        return None
    expected = checksum.read_text().split()[:1]
    actual = sha256_of(archive)
    if expected != [actual]:
        return f"{archive}: checksum mismatch: {checksum.name} says {expected[0] if expected else '?'}, the archive is {actual}"
    return None


def unpack(archive: Path, dest: Path) -> Path:
    """Check ``archive``'s checksum and extract it into ``dest``; the package root."""
    problem = verify_checksum(archive)
    if problem:
        raise PackageError([problem])
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest, filter="data")  # refuses absolute paths, '..' and links out
    except (tarfile.TarError, OSError) as err:
        raise PackageError([f"{archive}: cannot extract: {err}"]) from None
    tops = [p for p in dest.iterdir()]
    return tops[0] if len(tops) == 1 and tops[0].is_dir() else dest


def _installed_version(folder: Path) -> str | None:
    meta, _ = read_metadata(folder)
    if meta is not None:
        return meta.version
    handler = folder / "handler.lua"
    if handler.is_file():
        found = re.search(r"VERSION\s*=\s*[\"']([^\"']+)", handler.read_text(errors="replace"))
        return found[1] if found else None
    return None


def _install_lua(target: Target, meta: Metadata, plugins_dir: Path, upgrade: bool) -> str:
    dest = plugins_dir / "kong" / "plugins" / meta.name
    if dest.exists():
        current = _installed_version(dest)
        if current == meta.version and not upgrade:
            return f"{meta.name} {meta.version} is already installed in {dest}"
        if not upgrade:
            raise PackageError(
                [
                    f"{dest}: {meta.name} {current or '(unknown version)'} is installed: use --upgrade to replace it with {meta.version}"
                ]
            )
    staging = dest.with_name(f".{meta.name}.installing")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(target.path, staging, ignore=shutil.ignore_patterns("__pycache__"))
    (staging / METADATA_FILE).write_text((target.root / METADATA_FILE).read_text())
    old = dest.with_name(f".{meta.name}.old")
    if dest.exists():
        shutil.rmtree(old, ignore_errors=True)
        dest.rename(old)
    staging.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return f"installed {meta.name} {meta.version} (lua) into {dest}"


def _pip(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "install", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackageError(
            [f"pip install {' '.join(args)} failed:", proc.stderr.strip() or proc.stdout.strip()]
        )


def install(
    source: str,
    *,
    plugins_dir: str | Path | None = None,
    upgrade: bool = False,
    trust: str = "trusted",
    pip_args: list[str] | None = None,
) -> str:
    """Install ``source`` (a package folder, a ``.tar.gz`` or a pip requirement); a line saying
    what was done, or :class:`PackageError` with every reason it was refused."""
    path = Path(source)
    if not path.exists():
        from host.authorkit.pip_install import install_requirement

        return install_requirement(source, pip_args or [], upgrade)
    with tempfile.TemporaryDirectory(prefix="moongate-install-") as tmp:
        root = unpack(path, Path(tmp)) if path.is_file() else path
        try:
            target = locate(root)
        except LocateError as err:
            raise PackageError([str(err)]) from None
        meta, problems = read_metadata(target.root)
        if meta is None:
            raise PackageError([str(p) for p in problems])
        incompatible = check_compatible(meta)
        if incompatible:
            raise PackageError([f"refused: {incompatible}"])
        _report, meta = checked_report(target, trust)
        if meta.language == "lua":
            if plugins_dir is None:
                raise PackageError(["a Lua plugin needs --plugins-dir (or MOONGATE_PLUGINS_DIRS)"])
            return _install_lua(target, meta, Path(plugins_dir), upgrade)
        args = pip_args or []
        _pip([*args, *(["--upgrade"] if upgrade else []), str(target.root)])
        where = args[args.index("--target") + 1] if "--target" in args else sys.prefix
        return f"installed {meta.name} {meta.version} (python) with pip into {where}"
