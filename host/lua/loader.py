"""Finding and loading Lua plugins written for Kong.

A plugin is a folder holding ``handler.lua`` and ``schema.lua`` (and any other
modules it requires as ``kong.plugins.<name>.<module>``), found in a plugin
directory in either of Kong's layouts::

    <dir>/kong/plugins/<name>/handler.lua      (a LuaRocks tree / Kong's source layout)
    <dir>/<name>/handler.lua

Loading checks what Kong checks (``PRIORITY`` an integer, ``VERSION`` like ``x.y.z``,
not ``response`` with a filter phase), compiles ``schema.lua`` into the same schema
engine Python plugins use, and returns a :class:`~host.plugins.spec.PluginSpec`
whose handlers run the Lua methods as coroutines (``handler:phase(conf)``).

Where a plugin runs is its trust level (:mod:`host.lua.trust`): :func:`discover_lua_plugins`
tells the ``load`` callback where each folder was found (``bundled``, ``plugins_dir``
or ``untrusted_dir``).  Load-time calls into plugin code run inside ``host.loading()``
(a sandboxed host puts them under its limits).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lupa.luajit21 import LuaError, LuaMemoryError, lua_type

from host.context import current_context
from host.lua.driver import DONE, drive, started
from host.lua.runtime import LuaHost
from host.lua.sandbox import SandboxViolation
from host.lua.schema import lua_schema_definition
from host.plugins.spec import PluginLoadError, PluginSpec, validate_metadata
from pdk.phases import PLUGIN_PHASES

__all__ = ["discover_lua_plugins", "load_lua_plugin", "plugin_folders", "BUNDLED_DIR", "Loader"]

BUNDLED_DIR = Path(__file__).resolve().parent.parent.parent / "lua_plugins"
_NAME = re.compile(r"[A-Za-z0-9_-]+")
#: configs converted to Lua tables, by id(conf): (conf, table); cleared when it grows
_CONF_CACHE_MAX = 4096


def plugin_folders(root: Path) -> Iterator[tuple[str, Path]]:
    """(name, folder) of every Lua plugin under ``root``, in both of Kong's layouts."""
    if not root.is_dir():
        return
    seen: set[str] = set()
    for base in (root / "kong" / "plugins", root):
        if not base.is_dir():
            continue
        for folder in sorted(base.iterdir()):
            if folder.name in seen or not (folder / "handler.lua").is_file():
                continue
            seen.add(folder.name)
            yield folder.name, folder


#: (name, folder, origin) -> the loaded plugin; origin is where the folder was found
Loader = Callable[[str, Path, str], PluginSpec]


def discover_lua_plugins(
    host: LuaHost,
    plugin_dirs: Iterable[str] = (),
    *,
    bundled: bool = True,
    untrusted_dirs: Iterable[str] = (),
    load: Loader | None = None,
) -> tuple[list[PluginSpec], dict[str, str]]:
    """Load every Lua plugin found; returns (specs, failures by plugin name).

    ``load`` places each plugin (default: ``host``, whatever the origin)."""
    roots = [(BUNDLED_DIR, "bundled")] if bundled else []
    roots += [(Path(d), "plugins_dir") for d in plugin_dirs]
    roots += [(Path(d), "untrusted_dir") for d in untrusted_dirs]
    loader: Loader = load or (lambda name, folder, origin: load_lua_plugin(host, name, folder))
    specs: list[PluginSpec] = []
    failures: dict[str, str] = {}
    found = [(name, folder, origin) for root, origin in roots for name, folder in plugin_folders(root)]
    for name, folder, origin in found:
        if origin != "untrusted_dir":  # an untrusted folder's modules serve only its own plugin
            host.know_plugin_dir(name, folder)
    for name, folder, origin in found:
        try:
            specs.append(loader(name, folder, origin))
        except PluginLoadError as exc:
            failures[name] = str(exc)
    return specs, failures


def _lua_text(err: Any) -> str:
    if isinstance(err, LuaMemoryError) and not str(err):
        return "not enough memory"
    text = str(err)
    return text.split("\nstack traceback:", 1)[0]


def load_lua_plugin(host: LuaHost, name: str, folder: Path) -> PluginSpec:
    """Load one plugin folder (``handler.lua`` + ``schema.lua``) into ``host``."""
    handler_file = folder / "handler.lua"
    source = str(handler_file)
    if not _NAME.fullmatch(name):
        raise PluginLoadError(name, source, "plugin names may only hold letters, digits, '-' and '_'")
    if not (folder / "schema.lua").is_file():
        raise PluginLoadError(name, str(folder / "schema.lua"), "schema.lua is missing")
    try:
        with host.loading():
            return _load(host, name, folder, source)
    except SandboxViolation as exc:
        raise PluginLoadError(name, source, exc.detail) from None
    except LuaError as exc:  # raised outside the steps that name their file
        raise PluginLoadError(name, source, _lua_text(exc)) from None


def _load(host: LuaHost, name: str, folder: Path, source: str) -> PluginSpec:
    host.H.forget_plugin(name.encode())
    host.register_plugin_dir(name, folder)
    try:
        schema_table = host.H.load_module(f"kong.plugins.{name}.schema".encode())
    except LuaError as exc:
        raise PluginLoadError(name, str(folder / "schema.lua"), _lua_text(exc)) from None
    schema = lua_schema_definition(host, name, str(folder / "schema.lua"), schema_table)
    try:
        handler = host.H.load_module(f"kong.plugins.{name}.handler".encode())
    except LuaError as exc:
        raise PluginLoadError(name, source, _lua_text(exc)) from None
    if lua_type(handler) != "table":
        raise PluginLoadError(name, source, "handler.lua must return the handler table")
    handler, inherited = _class_style(host, name, source, handler)
    phases = [
        p
        for p in PLUGIN_PHASES
        if lua_type(handler[p.encode()]) in ("function", "table") and not inherited(handler, p.encode())
    ]
    priority, version = validate_metadata(
        name, source, host.to_python(handler[b"PRIORITY"]), host.to_python(handler[b"VERSION"]), phases
    )
    from host.schema import scope_flags

    no_consumer, no_route, no_service = scope_flags(schema)
    handlers = {phase: _make_handler(host, name, handler, phase) for phase in phases}
    return PluginSpec(
        name=name,
        version=version,
        priority=priority,
        language="lua",
        source=source,
        schema=schema,
        handlers=handlers,
        async_phases=frozenset(phases),
        no_consumer=no_consumer,
        no_route=no_route,
        no_service=no_service,
        extra={"handler": handler, "folder": str(folder)},
    )


#: (handler, base, phase) -> whether the handler's phase method is BasePlugin's own
_INHERITED = "return function(h, base, p) return rawequal(h[p], base[p]) end"


def _class_style(host: LuaHost, name: str, source: str, handler: Any) -> tuple[Any, Callable[[Any, bytes], bool]]:
    """Kong 2.x plugins extend ``kong.plugins.base_plugin``: like Kong 2.x, the class is
    instantiated once (``handler()``, which runs its ``new``), and phase methods only
    inherited from BasePlugin do not count as implemented."""
    not_inherited: Callable[[Any, bytes], bool] = lambda h, p: False  # noqa: E731
    is_fn = handler[b"is"]
    if lua_type(is_fn) != "function":
        return handler, not_inherited
    base = host.require("kong.plugins.base_plugin")
    try:
        if not is_fn(handler, base):
            return handler, not_inherited
        instance = handler()
    except LuaError as exc:
        raise PluginLoadError(name, source, _lua_text(exc)) from None
    same = host.compile(_INHERITED)()
    return instance, lambda h, p: bool(same(h, base, p))


@contextmanager
def _logging_as(name: str) -> Iterator[None]:
    """Outside requests, ``kong.log`` lines still name the plugin (Kong namespaces them)."""
    ctx = current_context()
    previous = ctx.plugin_name
    ctx.plugin_name = name
    try:
        yield
    finally:
        ctx.plugin_name = previous


def _make_handler(host: LuaHost, name: str, handler: Any, phase: str) -> Callable[..., Any]:
    """The Python callable the phase runner awaits: ``handler:phase(conf)`` in a coroutine."""
    phase_call = host.H.phase_call
    plugin = name.encode()
    phase_b = phase.encode()
    cache = host.state.setdefault("conf_tables", {})

    def conf_table(conf: dict[str, Any]) -> Any:
        entry = cache.get(id(conf))
        if entry is not None and entry[0] is conf:
            return entry[1]
        if len(cache) >= _CONF_CACHE_MAX:
            cache.clear()
        table = host.to_lua(conf)
        cache[id(conf)] = (conf, table)
        return table

    if phase == "init_worker":

        async def init_worker(kong: Any) -> None:
            with _logging_as(name):
                await drive(host, None, plugin, phase_call, handler, phase_b)

        return init_worker

    if phase == "configure":

        async def configure(kong: Any, configs: list[dict[str, Any]] | None) -> None:
            tables = [conf_table(c) for c in configs or ()]
            arg = host.runtime.table_from(tables) if tables else None
            with _logging_as(name):
                await drive(host, None, plugin, phase_call, handler, phase_b, arg)

        return configure

    bound = host.H.bind_phase(handler, phase_b)
    state_key = host.request_state_key

    def run(kong: Any, conf: dict[str, Any]) -> Awaitable[Any] | None:
        # driver.start inlined (the hot path of every Lua handler): synchronous when the
        # handler does no I/O; otherwise an awaitable that goes on driving it (the phase
        # runner awaits what is not None)
        entry = cache.get(id(conf))
        table = entry[1] if entry is not None and entry[0] is conf else conf_table(conf)
        extra = current_context().extra
        res = host._call(extra.get(state_key, False), plugin, bound, table)
        if res[0] is True and res[1] == DONE:
            return None
        return started(host, extra, res)

    run.__name__ = f"{name}.{phase}"
    return run
