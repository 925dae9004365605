"""The ``isolated`` trust level: plugins (Lua or Python) in supervised worker processes.

* :mod:`host.isolated.protocol`: frames (length-prefixed orjson plus raw blobs);
* :mod:`host.isolated.snapshot`: the request snapshot sent per phase call and the
  journal of writes sent back;
* :mod:`host.isolated.worker`: the worker process (``python -m host.isolated.worker``);
* :mod:`host.isolated.process`: one worker as the gateway sees it (spawn, calls, kill);
* :mod:`host.isolated.runtime`: the pool of an isolated plugin, its spec and restarts.

:func:`load_isolated_lua` is what :class:`host.lua.trust.Placement` calls for a Lua
plugin at ``isolated``; :func:`python_isolation` gives ``discover_python_plugins`` the
hook that starts a Python plugin at ``isolated`` without importing it in the gateway.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from host.isolated.protocol import IsolatedFailure
from host.isolated.runtime import IsolatedLimits, IsolatedRuntime
from host.plugins.spec import PluginLoadError, PluginSpec

__all__ = ["IsolatedFailure", "IsolatedRuntime", "IsolatedLimits", "load_isolated_lua", "python_isolation"]


def _limits_or_refuse(settings: Any, name: str, source: str) -> None:
    try:
        IsolatedLimits.from_settings(settings)
    except ValueError as exc:
        raise PluginLoadError(name, source, str(exc)) from None


def load_isolated_lua(settings: Any, name: str, folder: Path) -> PluginSpec:
    """A Lua plugin at ``isolated``: its handlers run in worker processes.

    The gateway still needs the plugin's schema (config validation, custom validators):
    ``schema.lua`` and the handler module are loaded once more into a sandboxed runtime
    of the gateway, under the sandbox's load-time limits, and only their metadata and
    schema are used.  Its ``daos.lua`` (entities for the declarative file) is read there
    too, in a data-only environment.
    """
    from host.lua.loader import load_lua_plugin
    from host.lua.sandbox import SandboxedHost

    _limits_or_refuse(settings, name, str(folder / "handler.lua"))
    schema_host = SandboxedHost(settings, name=f"{name} (schema)")
    inner = load_lua_plugin(schema_host, name, folder)
    runtime = IsolatedRuntime(settings, name, "lua", folder)
    meta = runtime.probe()
    spec = runtime.wrap(inner, [p for p in inner.phases if p in meta["phases"]])
    # its daos.lua is read in the same sandboxed runtime, data-only (host/config/lua_daos.py)
    spec.extra.update(daos_host=schema_host, daos_folder=str(folder))
    return spec


def python_isolation(settings: Any) -> Callable[[str, Path], PluginSpec | None]:
    """The hook of ``discover_python_plugins``: a spec for each Python plugin whose name
    (its file or package name, ``_`` as ``-``) is ``isolated`` in ``plugin_trust``;
    ``None`` for the others (imported in the gateway as usual)."""
    trust = dict(getattr(settings, "plugin_trust", None) or {})

    def isolate(name: str, path: Path) -> PluginSpec | None:
        if trust.get(name) != "isolated":
            return None
        _limits_or_refuse(settings, name, str(path))
        runtime = IsolatedRuntime(settings, name, "python", path)
        return runtime.python_spec(runtime.probe())

    return isolate
