"""The Lua runtime of a worker: one hardened LuaJIT state that hosts every Lua plugin.

:class:`LuaHost` creates the ``lupa.luajit21`` runtime with Python access locked down
(``register_eval=False``, ``register_builtins=False``, no attribute access to any
Python object), loads the Lua side of the host (``host/lua/lua/core.lua``), builds the
``kong`` and ``ngx`` tables before any plugin code is loaded (Kong's handlers capture
``kong.*`` at load time) and answers the core's questions: where is the source of
``kong.plugins.<name>.<module>``, and of a host-provided module such as ``cjson``.

No Python object with methods ever reaches Lua: the PDK is Lua tables of plain Python
functions (see ``lua-sandbox.md`` §5 on lupa's method-call bug under LuaJIT).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import Any

from lupa.luajit21 import LuaRuntime

from host.lua.convert import FLAT_LUA, python_converter, to_lua, to_python

__all__ = ["LuaHost", "LUA_DIR", "MODULES_DIR"]

LUA_DIR = Path(__file__).parent / "lua"
MODULES_DIR = LUA_DIR / "modules"
_MODULE_NAME = re.compile(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_-]+)*")
#: Lua runtime memory cap (bytes); one runtime holds every plugin of the worker
DEFAULT_MAX_MEMORY = 1 << 30
log = logging.getLogger("moongate.lua")


def _deny_get(obj: Any, name: Any) -> Any:
    raise AttributeError("access to Python attributes is not allowed from Lua")


def _deny_set(obj: Any, name: Any, value: Any) -> None:
    raise AttributeError("access to Python attributes is not allowed from Lua")


class LuaHost:
    """One LuaJIT runtime with the Moongate host loaded (one per worker process)."""

    def __init__(self, settings: Any = None, *, max_memory: int | None = DEFAULT_MAX_MEMORY) -> None:
        self.settings = settings
        #: where a request keeps this runtime's Lua state (``ngx.ctx``, ...) in ``ctx.extra``:
        #: a request may run plugins of several runtimes (trusted and sandboxed ones)
        self.request_state_key = f"lua:{id(self):x}"
        self.runtime = LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            encoding=None,
            attribute_handlers=(_deny_get, _deny_set),
            max_memory=max_memory,
        )
        #: plugin name -> folder holding handler.lua (and its other modules)
        self.plugin_dirs: dict[str, Path] = {}
        #: every plugin folder found, for requires across plugins (know_plugin_dir)
        self.known_plugin_dirs: dict[str, Path] = {}
        #: name -> value: per-worker objects host modules share (timers, shared dicts, ...)
        self.state: dict[str, Any] = {}
        #: what host modules opened, released by close() in registration order (timers first)
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.started = time.time()
        backing = self.table(
            plugin_module=self._plugin_module,
            host_module=self._host_module,
            module_backing=self._module_backing,
            lua_file=_lua_file,
        )
        core = (LUA_DIR / "core.lua").read_bytes()
        loader = self.runtime.eval("load")
        self.H = loader(core, b"@moongate/core.lua")(backing)
        untrusted = getattr(settings, "untrusted_lua", None)
        if untrusted:
            self.H.untrusted_lua = str(untrusted).encode()
        self.is_null = self._null_test()
        #: Lua -> Python conversion, each table read in one crossing
        self.to_python = python_converter(self.is_null, loader(FLAT_LUA, b"=moongate.flat")())  # type: ignore[method-assign]
        #: what the driver calls (a sandboxed host puts its limited versions here)
        self._call = self.H.call
        self._resume = self.H.resume
        from host.lua import bridge  # local: the bridge needs a running host

        bridge.install(self)

    # -- values -----------------------------------------------------------------------
    def table(self, *items: Any, **fields: Any) -> Any:
        """A new Lua table from positional values and keyword fields (converted)."""
        data: dict[Any, Any] = {i + 1: v for i, v in enumerate(items)}
        data.update(fields)
        return self.to_lua(data)

    def to_lua(self, value: Any) -> Any:
        """Python data as a Lua value (see :mod:`host.lua.convert`)."""
        return to_lua(self.runtime, value)

    def to_python(self, value: Any) -> Any:
        """A Lua value as Python data (``cjson.null`` becomes ``None``)."""
        return to_python(value, self.is_null)

    def _null_test(self) -> Callable[[Any], bool]:
        """A Lua function telling whether a value is ``H.null`` (rawequal, in Lua)."""
        make = self.runtime.eval("function(null) return function(v) return rawequal(v, null) end end")
        return make(self.H.null)  # type: ignore[no-any-return]

    @property
    def null(self) -> Any:
        return self.H.null

    # -- modules ------------------------------------------------------------------------
    def register_plugin_dir(self, name: str, folder: Path) -> None:
        """Make ``kong.plugins.<name>.*`` resolve to files in ``folder``."""
        self.plugin_dirs[name] = folder

    def know_plugin_dir(self, name: str, folder: Path) -> None:
        """A plugin folder found in a plugin directory, loaded or not: its modules resolve
        for other plugins too (Kong's post-function requires pre-function's
        ``_schema``), as Lua's package path finds them in Kong; the first one found wins."""
        self.known_plugin_dirs.setdefault(name, folder)

    def _plugin_module(self, lua_name: bytes) -> tuple[bytes, bytes] | None:
        name = lua_name.decode()
        parts = name.split(".")
        if len(parts) < 4 or parts[0] != "kong" or parts[1] != "plugins":
            return None
        folder = self.plugin_dirs.get(parts[2]) or self.known_plugin_dirs.get(parts[2])
        if folder is None or not _MODULE_NAME.fullmatch(name):
            return None
        rel = Path(*parts[3:])
        for candidate in (folder / rel.with_suffix(".lua"), folder / rel / "init.lua"):
            if candidate.is_file():
                return candidate.read_bytes(), f"@{candidate}".encode()
        return None

    def _host_module(self, lua_name: bytes) -> tuple[bytes, bytes] | None:
        name = lua_name.decode()
        if not _MODULE_NAME.fullmatch(name):
            return None
        path = MODULES_DIR / f"{name}.lua"
        if not path.is_file():
            return None
        return path.read_bytes(), f"@moongate/{name}.lua".encode()

    def _module_backing(self, lua_name: bytes) -> Any:
        """The Python half of a host module: ``host.lua.modules.<name>.backing(host)``."""
        name = lua_name.decode().replace(".", "_").replace("-", "_")
        try:
            module = import_module(f"host.lua.modules.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"host.lua.modules.{name}":
                return None
            raise
        functions: dict[str, Callable[..., Any]] = module.backing(self)
        return self.runtime.table_from({k.encode(): v for k, v in functions.items()})

    def require(self, name: str) -> Any:
        """A host module's value (loaded once per runtime)."""
        return self.H.require(name.encode())

    # -- owned resources -------------------------------------------------------------------
    def resource(self, key: str, make: Callable[[], Any], close: str) -> Any:
        """The runtime's object under ``key`` in :attr:`state` (an HTTP client, a
        connection pool): made with ``make()`` on first use, and its ``close`` method
        awaited by :meth:`close`."""
        found = self.state.get(key)
        if found is None:
            found = self.state[key] = make()
            self.on_close(getattr(found, close))
        return found

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Have :meth:`close` await ``closer()`` (timers, client sessions, connection pools)."""
        self._closers.append(closer)

    async def close(self) -> None:
        """Worker shutdown: ``ngx.worker.exiting()`` turns true, then what host modules
        opened is released (pending timers run early, sessions and pools close)."""
        self.state["exiting"] = True
        while self._closers:
            closer = self._closers.pop(0)
            try:
                await closer()
            except Exception:  # noqa: BLE001 - one failing resource must not keep the others open
                log.exception("failed to release a Lua host resource")

    # -- running code --------------------------------------------------------------------
    @contextmanager
    def loading(self) -> Iterator[None]:
        """Around load-time calls into plugin code (module bodies, class instantiation,
        schema walking): nothing to do here; a sandboxed host puts them under its limits."""
        yield

    def compile(self, source: str | bytes, chunkname: str = "=host") -> Any:
        """Compile host (trusted) Lua code; returns the function."""
        src = source.encode() if isinstance(source, str) else source
        return _compiled(self.H.compile(src, chunkname.encode()))

    def compile_in(self, plugin: str, source: str | bytes, chunkname: str = "=plugin") -> Any:
        """Compile Lua code in plugin ``plugin``'s environment; returns the function."""
        src = source.encode() if isinstance(source, str) else source
        return _compiled(self.H.compile_in(plugin.encode(), src, chunkname.encode()))


def _lua_file(name: bytes) -> bytes:
    """The source of one of the host's own Lua files (``host/lua/lua/<name>.lua``)."""
    return (LUA_DIR / f"{name.decode()}.lua").read_bytes()


def _compiled(result: Any) -> Any:
    """``load``'s results: the function, or raise its error message."""
    if isinstance(result, tuple):
        fn, err = (result + (None,))[:2]
        if fn is None:
            raise SyntaxError(to_python(err))
        return fn
    return result
