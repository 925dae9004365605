"""``moongate plugin install PIP-SPEC``: a Python plugin from a package index.

pip installs the requirement into this environment; then every ``moongate.plugins``
entry point the install added or changed is loaded alone and checked the way the
gateway loads it (PRIORITY, VERSION, phases, schema; an installed distribution no
longer carries its ``plugin.yaml``).  When one fails, the distribution is uninstalled
again and the install is refused with the problems.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import EntryPoint, entry_points

from host.plugins.python_loader import ENTRY_POINT_GROUP

__all__ = ["install_requirement"]


def _points() -> dict[str, EntryPoint]:
    importlib.invalidate_caches()
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _target_dir(pip_args: list[str]) -> str | None:
    for i, arg in enumerate(pip_args):
        if arg == "--target" and i + 1 < len(pip_args):
            return pip_args[i + 1]
        if arg.startswith("--target="):
            return arg.split("=", 1)[1]
    return None


def install_requirement(requirement: str, pip_args: list[str], upgrade: bool) -> str:
    """pip-install ``requirement``, then check the plugins it brought (see the module doc)."""
    from host.authorkit.package import PackageError
    from host.plugins import kong_python_pdk
    from host.plugins.python_loader import load_python_plugin
    from host.plugins.spec import PluginLoadError

    target = _target_dir(pip_args)
    if target and target not in sys.path:
        sys.path.insert(0, target)
    before = {name: ep.value for name, ep in _points().items()}
    args = [*pip_args, *(["--upgrade"] if upgrade else []), requirement]
    proc = subprocess.run([sys.executable, "-m", "pip", "install", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackageError([f"pip install {requirement} failed:", (proc.stderr or proc.stdout).strip()])
    added = {name: ep for name, ep in _points().items() if before.get(name) != ep.value}
    if not added:
        raise PackageError(
            [
                f"{requirement}: installed, but it declares no '{ENTRY_POINT_GROUP}' entry point: not a Moongate plugin"
            ]
        )
    problems: list[str] = []
    loaded = []
    for name, ep in sorted(added.items()):
        try:
            obj = ep.load()
            if kong_python_pdk.is_kong_python_pdk_plugin(obj):
                obj = kong_python_pdk.adapt(obj, name)
            spec = load_python_plugin(obj, default_name=name)
            loaded.append(f"{spec.name} {spec.version}")
        except PluginLoadError as exc:
            problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - an import failure is the plugin's problem
            problems.append(f"plugin '{name}' ({ep.value}): import failed: {exc!r}")
    if problems:
        dists = {ep.dist.name for ep in added.values() if ep.dist is not None}
        if not target:  # a --target install has no uninstall: the caller removes the folder
            subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", *dists], capture_output=True)
        raise PackageError([*problems, f"refused: {', '.join(sorted(dists))} uninstalled"])
    return f"installed {', '.join(loaded)} (python) with pip"
