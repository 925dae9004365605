"""Discovering and loading Python plugins (pluggy validates the phase contract).

A Python plugin is a module (or package) with ``PRIORITY``, ``VERSION``, an optional
``SCHEMA`` and phase functions, or a ``Plugin`` class holding those as attributes
and methods::

    PRIORITY = 1000
    VERSION = "1.0.0"
    SCHEMA = [{"header": {"type": "string", "default": "X-Hello"}}]   # config fields

    class Plugin:
        def access(self, kong, conf):             # or: async def access(...)
            kong.response.set_header(conf["header"], "world")

Its name is ``NAME`` when given, else the module name with ``_`` replaced by ``-``.
Sources, in order: the bundled ``py_plugins`` package, the ``moongate.plugins``
entry-point group, and plugin directories (``*.py`` files and packages).  A file written
for Kong's Python PDK (module-level ``Schema``/``version``/``priority``, ``class
Plugin(config)``) runs through :mod:`host.plugins.kong_python_pdk`.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from host.plugins import hookspecs, kong_python_pdk
from host.plugins.spec import PluginLoadError, PluginSpec, validate_metadata
from pdk.phases import PLUGIN_PHASES

__all__ = ["load_python_plugin", "discover_python_plugins", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "moongate.plugins"
_PHASES = frozenset(PLUGIN_PHASES)
_HOOK_IN_ERROR = re.compile(r"hook '(\w+)'")
_IMPL_OPTS = {
    "wrapper": False,
    "hookwrapper": False,
    "optionalhook": False,
    "tryfirst": False,
    "trylast": False,
    "specname": None,
}


class _PhaseManager(pluggy.PluginManager):
    """Treats any public method named like a phase as a hook implementation."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        if name in _PHASES and callable(getattr(plugin, name, None)):
            return dict(_IMPL_OPTS)
        return super().parse_hookimpl_opts(plugin, name)


def _source_of(obj: Any) -> str:
    try:
        return inspect.getsourcefile(obj) or getattr(obj, "__file__", None) or repr(obj)
    except TypeError:
        return getattr(obj, "__file__", None) or repr(obj)


def _misspelled(holder: Any, name: str, source: str) -> None:
    for attr in dir(holder):
        if attr.startswith("_") or attr in _PHASES or not callable(getattr(holder, attr, None)):
            continue
        close = difflib.get_close_matches(attr, PLUGIN_PHASES, n=1, cutoff=0.8)
        if close:
            raise PluginLoadError(
                name,
                source,
                f"method '{attr}' is not a phase (did you mean '{close[0]}'?); phases: {', '.join(PLUGIN_PHASES)}",
            )


def _check_phase_callables(holder: Any, name: str, source: str) -> None:
    """Phases must be functions or methods: pluggy cannot hook other callables (partials, objects)."""
    for phase in PLUGIN_PHASES:
        attr = getattr(holder, phase, None)
        if callable(attr) and not (inspect.isfunction(attr) or inspect.ismethod(attr)):
            raise PluginLoadError(
                name, source, f"'{phase}' must be a function or method, got {type(attr).__name__}"
            )


def _registered_source(plugin: Any) -> str:
    """The file a plugin object registered with the manager was loaded from."""
    return _source_of(plugin if isinstance(plugin, ModuleType) else type(plugin))


def _adapt(
    fn: Callable[..., Any], argnames: tuple[str, ...], spec_args: tuple[str, ...]
) -> Callable[..., Any]:
    """Call ``fn`` with the subset of the phase arguments it declares."""
    if argnames == spec_args:
        return fn
    if inspect.iscoroutinefunction(fn):

        async def call_async(*args: Any) -> Any:
            return await fn(**{n: v for n, v in zip(spec_args, args, strict=False) if n in argnames})

        return call_async

    def call(*args: Any) -> Any:
        return fn(**{n: v for n, v in zip(spec_args, args, strict=False) if n in argnames})

    return call


def _schema_for(name: str, source: str, raw: Any) -> Any:
    from host.schema import config_fields_to_definition, plugin_entity_schema

    if raw is None:
        raw = []
    if isinstance(raw, list | tuple):
        definition = config_fields_to_definition(name, list(raw))
    elif isinstance(raw, dict) and isinstance(raw.get("fields"), list):
        has_config = any(isinstance(f, dict) and "config" in f for f in raw["fields"])
        definition = dict(raw) if has_config else config_fields_to_definition(name, raw["fields"])
        definition.setdefault("name", name)
    else:
        raise PluginLoadError(
            name, source, "SCHEMA must be a list of config fields or a Kong schema table with 'fields'"
        )
    try:
        return plugin_entity_schema(name, definition)
    except Exception as exc:  # noqa: BLE001 - report any schema definition problem by plugin name
        raise PluginLoadError(name, source, f"invalid SCHEMA: {exc}") from exc


def load_python_plugin(
    obj: Any,
    *,
    name: str | None = None,
    manager: pluggy.PluginManager | None = None,
    default_name: str | None = None,
) -> PluginSpec:
    """Build a PluginSpec from a plugin module or ``Plugin`` class; raises PluginLoadError."""
    module = obj if isinstance(obj, ModuleType) else None
    holder: Any = obj
    if module is not None and inspect.isclass(getattr(module, "Plugin", None)):
        holder = module.Plugin
    meta_sources = [holder] + ([module] if module is not None and holder is not module else [])

    def meta(attr: str, default: Any = None) -> Any:
        for src in meta_sources:
            if hasattr(src, attr):
                return getattr(src, attr)
        return default

    base_name = (module.__name__ if module is not None else getattr(obj, "__module__", "plugin")).rsplit(
        ".", 1
    )[-1]
    if base_name == "__init__" and module is not None:
        base_name = module.__name__.rsplit(".", 2)[-2]
    name = name or meta("NAME") or default_name or base_name.replace("_", "-")
    source = _source_of(module or obj)
    if not isinstance(name, str) or not name.strip():
        raise PluginLoadError(str(name), source, f"NAME must be a non-empty string, got {name!r}")
    if meta("PRIORITY") is None:
        raise PluginLoadError(name, source, "PRIORITY is missing")
    if meta("VERSION") is None:
        raise PluginLoadError(name, source, "VERSION is missing")

    if inspect.isclass(holder):
        try:
            instance = holder()
        except Exception as exc:  # noqa: BLE001
            raise PluginLoadError(name, source, f"Plugin() failed: {exc!r}") from exc
    else:
        instance = holder
    _misspelled(instance, name, source)
    _check_phase_callables(instance, name, source)

    pm = manager or _PhaseManager("moongate")
    if manager is None:
        pm.add_hookspecs(hookspecs)
    other = pm.get_plugin(name)
    if other is not None:
        raise PluginLoadError(
            name, source, f"a plugin with this name is already loaded from {_registered_source(other)}"
        )
    try:
        pm.register(instance, name=name)
    except pluggy.PluginValidationError as exc:
        found = _HOOK_IN_ERROR.search(str(exc))
        # pluggy's message spans lines: join them, a failure is reported on one line
        detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise PluginLoadError(name, source, f"method '{found[1] if found else '?'}': {detail}") from exc
    except ValueError as exc:  # the same object registered under another name: drop pluggy's registry dump
        raise PluginLoadError(name, source, str(exc).split("\n", 1)[0]) from exc
    try:
        return _build_spec(pm, instance, name, source, meta)
    except BaseException:
        pm.unregister(instance)  # a refused plugin must not keep its name in the shared manager
        raise


def _build_spec(
    pm: pluggy.PluginManager, instance: Any, name: str, source: str, meta: Callable[..., Any]
) -> PluginSpec:
    from host.schema import scope_flags

    handlers: dict[str, Callable[..., Any]] = {}
    async_phases: set[str] = set()
    for phase in PLUGIN_PHASES:
        hook = getattr(pm.hook, phase)
        impls = [i for i in hook.get_hookimpls() if i.plugin is instance]
        if not impls:
            continue
        impl = impls[0]
        spec_args = tuple(hook.spec.argnames)
        handlers[phase] = _adapt(impl.function, tuple(impl.argnames), spec_args)
        if inspect.iscoroutinefunction(impl.function):
            async_phases.add(phase)
    priority, version = validate_metadata(name, source, meta("PRIORITY"), meta("VERSION"), handlers)
    schema = _schema_for(name, source, meta("SCHEMA"))
    no_consumer, no_route, no_service = scope_flags(schema)
    return PluginSpec(
        name=name,
        version=version,
        priority=priority,
        language="python",
        source=source,
        schema=schema,
        handlers=handlers,
        async_phases=frozenset(async_phases),
        no_consumer=no_consumer,
        no_route=no_route,
        no_service=no_service,
        extra={"instance": instance},
    )


def _import_path(path: Path) -> ModuleType:
    """Import a plugin file or package from a plugin directory under a private name."""
    mod_name = f"moongate_plugins.{path.stem if path.is_file() else path.name}"
    target = path if path.is_file() else path / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        mod_name, target, submodule_search_locations=[str(path)] if path.is_dir() else None
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(mod_name, None)
        raise
    return module


def _candidates(
    plugin_dirs: Iterable[str], bundled: bool
) -> Iterable[tuple[str, Callable[[], Any], str | None]]:
    """(label, loader, default name): an entry point's name names its plugin unless it sets NAME."""
    if bundled:
        import py_plugins

        for info in pkgutil.iter_modules(py_plugins.__path__):
            if not info.name.startswith("_"):
                yield (
                    f"py_plugins.{info.name}",
                    lambda n=info.name: importlib.import_module(f"py_plugins.{n}"),
                    None,
                )
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        yield f"entry point {ep.name} ({ep.value})", ep.load, ep.name
    for directory in plugin_dirs:
        root = Path(directory)
        if not root.is_dir():
            continue
        for path in sorted(root.iterdir()):
            if path.name.startswith(("_", ".")):
                continue
            if (path.is_file() and path.suffix == ".py") or (
                path.is_dir() and (path / "__init__.py").exists()
            ):
                yield str(path), lambda p=path: _import_path(p), None


def discover_python_plugins(
    plugin_dirs: Iterable[str] = (),
    *,
    bundled: bool = True,
    isolate: Callable[[str, Path], PluginSpec | None] | None = None,
) -> tuple[list[PluginSpec], dict[str, str]]:
    """Load every Python plugin found; returns (specs, failures by name or source).

    ``isolate(name, path)`` (``host.isolated.python_isolation``) is asked first about each
    plugin of a plugin directory (named after its file): a spec means the plugin runs
    in worker processes and is never imported here."""
    specs: list[PluginSpec] = []
    failures: dict[str, str] = {}
    pm = _PhaseManager("moongate")
    pm.add_hookspecs(hookspecs)
    kong_python_pdk.install_fallback()
    for label, load, default_name in _candidates(plugin_dirs, bundled):
        if isolate is not None and default_name is None and Path(label).exists():
            try:
                isolated = isolate(Path(label).stem.replace("_", "-"), Path(label))
            except PluginLoadError as exc:
                failures[exc.plugin] = str(exc)
                continue
            if isolated is not None:
                specs.append(isolated)
                continue
        try:
            obj = load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the gateway
            failures[label] = f"{label}: import failed: {exc!r}"
            continue
        if kong_python_pdk.is_kong_python_pdk_plugin(obj):  # named after its file, as in Kong
            obj = kong_python_pdk.adapt(obj, default_name or obj.__name__.rsplit(".", 1)[-1])
        try:
            specs.append(load_python_plugin(obj, manager=pm, default_name=default_name))
        except PluginLoadError as exc:
            failures[exc.plugin] = str(exc)
        except Exception as exc:  # noqa: BLE001 - e.g. a Plugin attribute raising while inspected
            failures[label] = f"{label}: failed to load: {exc!r}"
    return specs, failures
