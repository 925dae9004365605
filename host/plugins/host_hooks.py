"""The gateway's own extension points, as pluggy hook specifications (datasette-style).

Phase hooks (``host/plugins/hookspecs.py``) run per request, in PRIORITY order; the
hooks here extend the *host*: they run when the gateway starts and stops, when the
Admin API and the ``moongate`` command are built, and when ``GET /status`` answers.

An implementation is a module-level function named like the hook, in

- a Python plugin module (the module holding a plugin's phases or its ``Plugin`` class), or
- a module with no ``PRIORITY`` that only extends the host, found like a plugin: in the
  ``moongate.plugins`` entry-point group of an installed package or in a plugin directory.

Its arguments must be a subset of the specification's (pluggy refuses others when the
gateway loads it, the message naming the module and hook).  Each implementation is called
on its own: one that raises is logged with its name and the others still run.  The hooks
are collected once, when the registry is built (``moongate dev`` does not re-run them on
an edit).  See ``sdk-docs/hooks.md``.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click
import pluggy

from host.plugins.hookspecs import hookspec

if TYPE_CHECKING:  # pragma: no cover
    from host.plugins.spec import PluginSpec

__all__ = ["HOST_HOOKS", "HostHooks", "ExtensibleGroup", "find_extensions"]

log = logging.getLogger("moongate.hooks")

# --- the specifications -------------------------------------------------------------------


@hookspec
def startup(gateway: Any) -> Any:
    """The gateway's listeners are open: start background work (may be ``async``)."""


@hookspec
def shutdown(gateway: Any) -> Any:
    """The gateway stopped accepting and in-flight requests finished: release what
    ``startup`` took, before the gateway's own resources close (may be ``async``)."""


@hookspec
def register_admin_routes(app: Any, gateway: Any) -> None:
    """The Admin API application is being built: add routes to ``app`` (aiohttp)."""


@hookspec
def register_commands(cli: Any) -> None:
    """The ``moongate`` command group is being built: add click commands to ``cli``."""


@hookspec
def status_extra(gateway: Any) -> Any:
    """``GET /status`` answers: return a JSON-able block shown under ``extra.<name>``
    (``None``: nothing; may be ``async``)."""


HOST_HOOKS = ("startup", "shutdown", "register_admin_routes", "register_commands", "status_extra")
ENTRY_POINT_GROUP = "moongate.plugins"


class _HostManager(pluggy.PluginManager):
    """Any module-level function named like a host hook implements it (as phases do)."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        attr = getattr(plugin, name, None)
        if name in HOST_HOOKS and (inspect.isfunction(attr) or inspect.ismethod(attr)):
            return {"wrapper": False, "hookwrapper": False, "optionalhook": False,
                    "tryfirst": False, "trylast": False, "specname": None}  # fmt: skip
        return None  # only host hooks: a phase's @hookimpl marker is not ours


class _AdminRoutesShorthand:
    """``ADMIN_ROUTES(gateway) -> [aiohttp route defs]`` in a plugin module: the shorthand
    for ``register_admin_routes`` (Kong's plugin ``api.lua``; proxy-cache's purge)."""

    def __init__(self, modules: list[tuple[str, Any]]) -> None:
        self.modules = modules

    def register_admin_routes(self, app: Any, gateway: Any) -> None:
        for _name, module in self.modules:
            routes = getattr(module, "ADMIN_ROUTES", None)
            if callable(routes):
                app.add_routes(routes(gateway))


def _module_of(obj: Any) -> Any:
    """The module holding a plugin object (the module itself, or its class's module)."""
    if isinstance(obj, ModuleType):
        return obj
    owner = obj if inspect.isclass(obj) else type(obj)
    return sys.modules.get(owner.__module__)


def _is_extension(module: Any) -> bool:
    """A module that is no plugin (no PRIORITY, no Plugin class) and implements a host hook."""
    if module is None or hasattr(module, "PRIORITY") or hasattr(module, "priority"):
        return False
    if inspect.isclass(getattr(module, "Plugin", None)):
        return False
    return any(inspect.isfunction(getattr(module, h, None)) for h in HOST_HOOKS)


def find_extensions(
    specs: Iterable[PluginSpec], plugin_dirs: Iterable[str], failures: dict[str, str] | None = None
) -> list[tuple[str, Any]]:
    """(name, module) of every Python plugin module and host-only extension module.

    Host-only modules are the ones the plugin loader imported and refused for having no
    ``PRIORITY``; their refusal is removed from ``failures`` (they are not plugins).
    Nothing is imported here that the loader did not import (isolated plugins stay out)."""
    found: dict[int, tuple[str, Any]] = {}
    for spec in specs:
        if spec.language == "python" and "instance" in spec.extra:
            module = _module_of(spec.extra["instance"])
            if module is not None:
                found.setdefault(id(module), (spec.name, module))
    candidates: list[tuple[str, Any]] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        mod = sys.modules.get(ep.module)
        if mod is not None:
            candidates.append((ep.name, mod))
    for directory in plugin_dirs:
        root = Path(directory)
        for path in sorted(root.iterdir()) if root.is_dir() else ():
            mod = sys.modules.get(f"moongate_plugins.{path.stem if path.is_file() else path.name}")
            file = getattr(mod, "__file__", None)
            if file and (Path(file) == path or Path(file).parent == path):
                candidates.append((path.stem.replace("_", "-"), mod))
    for default, module in candidates:
        if id(module) in found or not _is_extension(module):
            continue
        name = getattr(module, "NAME", None) or default
        found[id(module)] = (name, module)
        if failures is not None and failures.get(name, "").endswith("PRIORITY is missing"):
            del failures[name]
    return list(found.values())


class HostHooks:
    """The host hooks of one gateway: one pluggy manager over the extension modules."""

    def __init__(self, extensions: Iterable[tuple[str, Any]] = ()) -> None:
        self.pm = _HostManager("moongate")
        self.pm.add_hookspecs(sys.modules[__name__])
        #: name -> why pluggy refused the module's implementations (shown as a load failure)
        self.errors: dict[str, str] = {}
        extensions = list(extensions)
        self.pm.register(_AdminRoutesShorthand(extensions), name="moongate.ADMIN_ROUTES")
        for name, module in extensions:
            if self.pm.is_registered(module):
                continue
            try:
                self.pm.register(module, name=name)
            except (pluggy.PluginValidationError, ValueError) as exc:
                detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
                self.errors[name] = f"{name}: host hooks refused: {detail}"

    @classmethod
    def from_registry(cls, registry: Any, plugin_dirs: Iterable[str] = ()) -> HostHooks:
        """The hooks of ``registry``'s plugins (what ``build_registry`` attached, if anything)."""
        made = getattr(registry, "host_hooks", None)
        return made if isinstance(made, HostHooks) else cls(find_extensions(registry, plugin_dirs))

    def _impls(self, hook: str, reverse: bool = False) -> list[tuple[str, Any, tuple[str, ...]]]:
        """(name, function, arguments) in registration order: the plugins' order."""
        impls = getattr(self.pm.hook, hook).get_hookimpls()
        found = [(self.pm.get_name(i.plugin) or "?", i.function, tuple(i.argnames)) for i in impls]
        return found[::-1] if reverse else found

    async def _call(self, hook: str, reverse: bool = False, **kwargs: Any) -> list[tuple[str, Any]]:
        """Each implementation in turn (awaiting what is awaitable): [(name, result)]."""
        results = []
        for name, fn, argnames in self._impls(hook, reverse):
            try:
                result = fn(**{k: kwargs[k] for k in argnames})
                if inspect.isawaitable(result):
                    result = await result
            except Exception:  # noqa: BLE001 - one extension must not stop the others
                log.exception("host hook %s of '%s' failed", hook, name, extra={"plugin": name})
                continue
            results.append((name, result))
        return results

    def _call_sync(self, hook: str, **kwargs: Any) -> None:
        for name, fn, argnames in self._impls(hook):
            try:
                fn(**{k: kwargs[k] for k in argnames})
            except Exception:  # noqa: BLE001
                log.exception("host hook %s of '%s' failed", hook, name, extra={"plugin": name})

    async def startup(self, gateway: Any) -> None:
        await self._call("startup", gateway=gateway)

    async def shutdown(self, gateway: Any) -> None:
        await self._call("shutdown", reverse=True, gateway=gateway)  # startup's order reversed

    def register_admin_routes(self, app: Any, gateway: Any) -> None:
        self._call_sync("register_admin_routes", app=app, gateway=gateway)

    def register_commands(self, cli: click.Group) -> None:
        """Add the extensions' commands; one replacing a built-in command is refused."""
        builtin = dict(cli.commands)
        self._call_sync("register_commands", cli=cli)
        for name, command in builtin.items():
            if cli.commands.get(name) is not command:
                log.error("an extension tried to replace the built-in command '%s': refused", name)
                cli.commands[name] = command

    async def status_extra(self, gateway: Any) -> dict[str, Any]:
        """``{name: block}`` of the implementations that returned something."""
        return {name: block for name, block in await self._call("status_extra", gateway=gateway)
                if block is not None}  # fmt: skip


class ExtensibleGroup(click.Group):
    """The ``moongate`` group: an unknown command name (or ``--help``) first loads the
    extensions' ``register_commands`` (Python plugins from the environment's settings)."""

    _extended = False

    def _extend(self) -> None:
        if self._extended:
            return
        self._extended = True
        from host.isolated import python_isolation
        from host.plugins.python_loader import discover_python_plugins
        from host.settings import Settings

        try:
            settings = Settings.from_env()
            bundled = "bundled" in settings.plugins and "off" not in settings.plugins
            specs, failures = discover_python_plugins(
                settings.plugins_dirs, bundled=bundled, isolate=python_isolation(settings)
            )
            HostHooks(find_extensions(specs, settings.plugins_dirs, failures)).register_commands(self)
        except Exception as exc:  # noqa: BLE001 - the built-in commands must keep working
            click.echo(f"moongate: extension commands unavailable: {exc!r}", err=True)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and not self._extended:
            self._extend()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._extend()
        return super().list_commands(ctx)
