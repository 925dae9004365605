"""Trust levels of Lua plugins: which runtime each plugin runs in.

The operator chooses per plugin name (``plugin_trust``); otherwise the level follows
where the plugin was found:

* bundled plugins (``lua_plugins/``) are ``trusted``, except ``pre-function`` and
  ``post-function``, whose code strings come from the Admin API / declarative config:
  they follow ``untrusted_lua`` (``sandbox``, the default: ``sandboxed``; ``on`` and
  ``off``: ``trusted``, with ``off`` refusing every code string);
* plugins from ``plugins_dirs``: ``plugin_trust_default`` (``trusted``, as in Kong);
* plugins from ``untrusted_plugins_dirs`` (a marketplace's install directory):
  ``sandboxed``.

``trusted`` plugins share the worker's :class:`~host.lua.runtime.LuaHost` (JIT on, each
in its own environment).  Each ``sandboxed`` plugin gets a
:class:`~host.lua.sandbox.SandboxedHost` of its own (pre-function and post-function
share one: their code strings have the same authors), owned by a :class:`Sandbox`
that recreates it when a violation left it broken.  Each ``isolated`` plugin runs in
worker processes of its own (:mod:`host.isolated`), supervised by an
:class:`~host.isolated.runtime.IsolatedRuntime` (a :class:`Sandbox` for the gateway's
lifecycle: it is closed, and its processes killed, when the gateway stops).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import Any

from host.lua.loader import load_lua_plugin
from host.lua.runtime import LuaHost
from host.lua.sandbox import SandboxedHost, SandboxLimits
from host.plugins.spec import PluginLoadError, PluginSpec

__all__ = ["TRUSTED", "SANDBOXED", "ISOLATED", "trust_of", "Placement", "Sandbox", "UNTRUSTED_CODE_PLUGINS"]

log = logging.getLogger("moongate.lua")

TRUSTED, SANDBOXED, ISOLATED = "trusted", "sandboxed", "isolated"
LEVELS = (TRUSTED, SANDBOXED, ISOLATED)
#: bundled plugins that run code strings from the configuration (Kong's untrusted_lua)
UNTRUSTED_CODE_PLUGINS = frozenset({"pre-function", "post-function"})


def trust_of(settings: Any, name: str, origin: str, source: str = "") -> str:
    """The trust level of plugin ``name`` found at ``origin`` (``bundled``,
    ``plugins_dir``, ``untrusted_dir``); raises :class:`PluginLoadError` for a level
    that does not exist."""
    if origin == "bundled" and name in UNTRUSTED_CODE_PLUGINS:
        return SANDBOXED if getattr(settings, "untrusted_lua", "sandbox") == "sandbox" else TRUSTED
    explicit = (getattr(settings, "plugin_trust", None) or {}).get(name)
    if explicit:
        level = explicit
    elif origin == "bundled":
        level = TRUSTED
    elif origin == "untrusted_dir":
        level = SANDBOXED
    else:
        level = getattr(settings, "plugin_trust_default", TRUSTED)
    if level not in LEVELS:
        raise PluginLoadError(name, source, f"unknown trust level {level!r} (trusted, sandboxed or isolated)")
    return level


class Placement:
    """Loads each Lua plugin at its trust level (the ``load`` of ``discover_lua_plugins``)."""

    def __init__(self, settings: Any, host: LuaHost) -> None:
        self.settings = settings
        self.host = host
        self.sandboxes: list[Sandbox] = []
        self._serverless: Sandbox | None = None

    def load(self, name: str, folder: Path, origin: str) -> PluginSpec:
        source = str(folder / "handler.lua")
        level = trust_of(self.settings, name, origin, source)
        if level == SANDBOXED:
            try:
                SandboxLimits.from_settings(self.settings)
            except ValueError as exc:
                raise PluginLoadError(name, source, str(exc)) from None
        if level == ISOLATED:
            from host.isolated import load_isolated_lua  # imports this module

            return load_isolated_lua(self.settings, name, folder)
        if level == TRUSTED:
            spec = load_lua_plugin(self.host, name, folder)
            spec.extra["trust"] = TRUSTED
            return spec
        if origin == "bundled" and name in UNTRUSTED_CODE_PLUGINS:
            # one runtime for the code strings of pre-function and post-function: one
            # trust domain (the configuration's authors), as in Kong
            if self._serverless is None:
                self._serverless = Sandbox(self.settings, "serverless")
                self.sandboxes.append(self._serverless)
            return self._serverless.add(name, folder, host_code=True)
        box = Sandbox(self.settings, name)
        self.sandboxes.append(box)
        return box.add(name, folder)


class Sandbox:
    """One sandboxed runtime and the plugins loaded into it; replaced when broken.

    The specs' handlers are stable entry points (the phase runner keeps them in its
    plans); each call goes to the handlers of the current runtime.  A replaced runtime
    loads the plugins again, runs their ``init_worker`` and last ``configure`` in the
    background, and the old one is closed.  ``host_code`` plugins are Moongate's own
    (pre-function, post-function): their files get a trusted environment in the
    sandboxed runtime; only the code they compile is sandboxed.
    """

    def __init__(self, settings: Any, name: str) -> None:
        self.settings = settings
        self.name = name
        self.host: SandboxedHost | None = None
        #: plugin name -> (folder, host_code)
        self.plugins: dict[str, tuple[Path, bool]] = {}
        #: plugin name -> phase -> handler of the current runtime
        self.handlers: dict[str, dict[str, Any]] = {}
        #: host.state entries copied into every runtime (kong.db's entities)
        self.shared_state: dict[str, Any] = {}
        self.replaced = 0
        self._configs: dict[str, Any] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _new_host(self) -> SandboxedHost:
        host = SandboxedHost(self.settings, name=self.name)
        host.state.update(self.shared_state)
        return host

    def _load(self, host: SandboxedHost, name: str) -> PluginSpec:
        folder, host_code = self.plugins[name]
        if host_code:
            host.H.env_kind[name.encode()] = b"trusted"
        spec = load_lua_plugin(host, name, folder)
        self.handlers[name] = spec.handlers
        return spec

    def add(self, name: str, folder: Path, *, host_code: bool = False) -> PluginSpec:
        """Load plugin ``name`` into this runtime; the spec the registry keeps."""
        if self.host is None:
            self.host = self._new_host()
        self.plugins[name] = (folder, host_code)
        try:
            inner = self._load(self.host, name)
        except Exception:
            del self.plugins[name]
            raise
        extra = {k: v for k, v in inner.extra.items() if k != "folder"}  # no daos.lua in the worker's runtime
        # its daos.lua is read in this runtime, data-only (host/config/lua_daos.py)
        extra.update(trust=SANDBOXED, sandbox=self, sandbox_folder=str(folder))
        extra.update(daos_host=self, daos_folder=str(folder))
        handlers = {phase: self._entry(name, phase) for phase in inner.handlers}
        return dataclasses.replace(inner, handlers=handlers, extra=extra)

    def share_state(self, values: dict[str, Any]) -> None:
        self.shared_state.update(values)
        if self.host is not None:
            self.host.state.update(values)

    def _entry(self, name: str, phase: str) -> Any:
        def entry(*args: Any) -> Any:
            if self.host is not None and self.host.broken:
                self._replace()
            if phase == "configure":
                self._configs[name] = args[1] if len(args) > 1 else None
            return self.handlers[name][phase](*args)

        entry.__name__ = f"{name}.{phase}"
        return entry

    def _replace(self) -> None:
        """A new runtime for the plugins; the old one is closed in the background."""
        old = self.host
        try:
            host = self._new_host()
            for name in self.plugins:
                self._load(host, name)
        except Exception:  # noqa: BLE001 - keep the old runtime: its calls keep failing cleanly
            log.exception(
                "failed to recreate the sandboxed runtime '%s'", self.name, extra={"plugin": self.name}
            )
            if old is not None:
                old.broken = False
            return
        self.host = host
        self.replaced += 1
        log.warning("recreated the sandboxed Lua runtime '%s'", self.name, extra={"plugin": self.name})
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._restart(old))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _restart(self, old: LuaHost | None) -> None:
        from pdk import kong

        for name, handlers in self.handlers.items():
            for phase, args in (("init_worker", ()), ("configure", (self._configs.get(name),))):
                handler = handlers.get(phase)
                if handler is None:
                    continue
                try:
                    await handler(kong, *args)
                except Exception:  # noqa: BLE001 - reported like at start-up
                    log.exception("plugin '%s' failed in %s", name, phase, extra={"plugin": name})
        if old is not None:
            await old.close()

    async def close(self) -> None:
        """Worker shutdown: the runtime's timers and pools."""
        for task in list(self._tasks):
            await task
        if self.host is not None:
            await self.host.close()
