"""``moongate dev``: reload plugins and the declarative file on every edit, without a restart.

:class:`DevReloader` watches the plugin directories (``*.lua``, ``*.py``, ``plugin.yaml``)
and the declarative file:

* the declarative file changed: ``Gateway.reload_file`` (validated, swapped in, or
  refused with its errors while the running configuration keeps serving);
* a plugin file changed: a complete new registry is built (a fresh ``LuaHost``; Python
  plugin modules imported again from their files), the declarative file is loaded
  against it, and both are swapped in through the gateway's reload path
  (``Gateway.apply``: one assignment; requests in flight finish on the snapshot, and
  so the plugins, they started with).  The previous registry's runtimes are closed a
  few seconds later.  When a plugin that loaded before fails to load after the edit,
  its previous version moves to the new registry and keeps serving (the other edits
  apply), and each problem is printed as ``file:line: message`` (``moongate plugin
  validate``'s checks).  A declarative file that the edited plugins no longer accept
  refuses the whole reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from host.gateway import Gateway
    from host.plugins.spec import PluginRegistry

__all__ = ["DevReloader", "WATCHED_SUFFIXES"]

log = logging.getLogger("moongate.dev")

WATCHED_SUFFIXES = (".lua", ".py", ".yaml", ".yml")
#: seconds the previous registry's runtimes stay open for requests still using them
RETIRE_AFTER = 10.0


class DevReloader:
    """Watches ``gateway``'s plugin directories and declarative file and reloads them."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        report: Callable[[str], None] | None = None,
        retire_after: float = RETIRE_AFTER,
    ) -> None:
        self.gateway = gateway
        self.config_path = gateway.settings.declarative_config
        self.plugin_dirs = [Path(d).resolve() for d in gateway.settings.plugins_dirs]
        self.report = report or (lambda line: log.error("%s", line))
        self.retire_after = retire_after
        #: how many plugin reloads were applied / refused (tests and the status line)
        self.applied = 0
        self.refused = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._retiring: list[PluginRegistry] = []
        #: id(spec) -> the registry (so the runtime) it was loaded in
        self._owner: dict[int, PluginRegistry] = {}
        self._bytecode = (sys.dont_write_bytecode, sys.pycache_prefix)
        self._pycache = tempfile.TemporaryDirectory(prefix="moongate-dev-pycache-")

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start watching (in the running event loop).  Plugin modules are compiled without
        ``.pyc`` caches from now on: two edits in the same second must not hit a stale one."""
        sys.dont_write_bytecode = True
        sys.pycache_prefix = self._pycache.name
        loop = asyncio.get_running_loop()
        if self.plugin_dirs:
            self._spawn(loop, self._watch_plugins())
        if self.config_path:
            from host.workers.serve import file_signature, watch_file

            since = file_signature(self.config_path)
            self._spawn(
                loop, watch_file(self.config_path, lambda: self._spawn(loop, self.reload_config()), since)
            )

    async def stop(self) -> None:
        """Stop watching; close the runtimes of replaced registries at once."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for registry in self._retiring:
            await _close(registry)
        self._retiring.clear()
        sys.dont_write_bytecode, sys.pycache_prefix = self._bytecode
        self._pycache.cleanup()

    def _spawn(self, loop: asyncio.AbstractEventLoop, coro: Any) -> None:
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- watching ----------------------------------------------------------------------------
    def _relevant(self, _change: object, path: str) -> bool:
        p = Path(path)
        if p.suffix not in WATCHED_SUFFIXES or p.name.startswith((".", "#")) or "__pycache__" in p.parts:
            return False
        return any(d == p or d in p.parents for d in self.plugin_dirs)

    async def _watch_plugins(self) -> None:
        from watchfiles import awatch

        dirs = [d for d in self.plugin_dirs if d.is_dir()]
        log.info("watching plugin directories: %s", ", ".join(map(str, dirs)))
        async for changes in awatch(*dirs, watch_filter=self._relevant, debounce=200, step=50):
            changed = sorted({Path(p).name for _c, p in changes})
            log.info("plugin files changed (%s): reloading plugins", ", ".join(changed))
            await self.reload_plugins()

    # -- reloading ---------------------------------------------------------------------------
    async def reload_config(self) -> bool:
        """The declarative file changed: the gateway's own reload (errors are logged)."""
        return await self.gateway.reload_file(self.config_path) if self.config_path else False

    async def reload_plugins(self) -> bool:
        """Rebuild every plugin and swap it in with the configuration; False when nothing
        was swapped.  A plugin that loaded before and fails now keeps its previous version
        (its spec, bound to the runtime it was loaded in, moves to the new registry)."""
        from host.config import ConfigError, load_file
        from host.gateway import build_registry, empty_config

        gateway = self.gateway
        async with gateway._reload_lock:  # one reload at a time, file reloads included
            self._forget_modules()
            current = gateway.registry
            self._own(current)
            try:
                registry = build_registry(gateway.settings)
            except Exception as exc:  # noqa: BLE001 - keep serving with what runs
                return self._refuse([f"plugins failed to load: {exc!r}"], None)
            self._own(registry)
            new_failures = {k: v for k, v in registry.failures.items() if current.failures.get(k) != v}
            for line in self._explain(new_failures):
                self.report(line)
            kept = self._carry_over(current, registry)
            if kept:
                self.refused += bool(new_failures)  # counted once per breaking edit
                self.report(f"kept the previous version of {', '.join(kept)}: fix the error above")
            try:
                config = load_file(self.config_path, registry) if self.config_path else empty_config()
            except ConfigError as err:
                return self._refuse([f"with the edited plugins: {line}" for line in err.errors], registry)
            except OSError as err:
                return self._refuse([str(err)], registry)
            gateway.registry = registry
            await gateway._init_worker()
            await gateway.apply(config)
        self.applied += 1
        self.report(f"plugins reloaded ({len(registry)} loaded); configuration {gateway.snapshot.hash}")
        self._retire(current)
        return True

    def _carry_over(self, current: PluginRegistry, registry: PluginRegistry) -> list[str]:
        """Put into ``registry`` the current spec of each plugin that failed to load in it."""
        kept = []
        for key in registry.failures:
            name = key if key in current else self._name_at(key, current)
            old = current.get(name) if name else None
            if old is not None and name not in registry:
                registry.add(old)
                kept.append(name)
        return kept

    @staticmethod
    def _name_at(label: str, registry: PluginRegistry) -> str | None:
        """The plugin loaded from path ``label`` (an import failure is keyed by its path)."""
        path = Path(label)
        for spec in registry:
            source = Path(spec.source)
            if source == path or path in source.parents:
                return spec.name
        return None

    def _own(self, registry: PluginRegistry) -> None:
        for spec in registry:
            self._owner.setdefault(id(spec), registry)

    def _refuse(self, lines: list[str], built: PluginRegistry | None) -> bool:
        self.refused += 1
        for line in lines:
            self.report(line)
        self.report("reload refused: the previous version of every plugin keeps serving")
        if built is not None:
            self._retire(built)
        return False

    def _explain(self, broken: dict[str, str]) -> list[str]:
        """Each failure as ``moongate plugin validate`` would print it (file:line: message)."""
        from host.authorkit.locate import LocateError, locate
        from host.authorkit.validate import validate

        lines: list[str] = []
        for key, reason in broken.items():
            path = self._path_of(key, reason)
            problems = []
            if path is not None:
                with contextlib.suppress(LocateError):
                    problems = validate(locate(path)).problems
            lines += [str(p) for p in problems] or [reason]
        return lines

    def _path_of(self, key: str, reason: str) -> Path | None:
        """The plugin folder or file a failure is about (``key``: a name or a path)."""
        if Path(key).exists():
            return Path(key)
        for root in self.plugin_dirs:
            for candidate in (
                root / "kong" / "plugins" / key,
                root / key,
                root / f"{key.replace('-', '_')}.py",
            ):
                if candidate.exists():
                    return candidate
            if (root / key.replace("-", "_")).is_dir():
                return root / key.replace("-", "_")
        return None

    def _forget_modules(self) -> None:
        """Drop imported modules loaded from the plugin directories: their files are read again."""
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if not file:
                continue
            path = Path(file).resolve()
            if any(d in path.parents for d in self.plugin_dirs):
                del sys.modules[name]

    def _retire(self, registry: PluginRegistry) -> None:
        """Close ``registry``'s runtimes once no request uses them (``retire_after``) and no
        plugin of the running registry was carried over from it."""
        if registry not in self._retiring:
            self._retiring.append(registry)

        async def later() -> None:
            await asyncio.sleep(self.retire_after)
            running = {id(s) for s in self.gateway.registry}
            for old in list(self._retiring):
                if old is self.gateway.registry:
                    continue
                if any(self._owner.get(i) is old for i in running):
                    continue  # a kept plugin still runs in it
                self._retiring.remove(old)
                for spec_id in [i for i, owner in self._owner.items() if owner is old]:
                    del self._owner[spec_id]
                await _close(old)

        self._spawn(asyncio.get_running_loop(), later())


async def _close(registry: PluginRegistry) -> None:
    from host.gateway import sandboxed_plugins

    try:
        if registry.lua is not None:
            await registry.lua.close()
        for box in sandboxed_plugins(registry):
            await box.close()
    except Exception:  # noqa: BLE001 - a runtime that fails to close must not stop the reloads
        log.exception("closing a replaced plugin runtime failed")
