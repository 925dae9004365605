"""Running plugins written for Kong's Python PDK (``kong-python-pdk``) unmodified, in-process.

Such a plugin is one ``.py`` file with a module-level ``Schema`` (a tuple of
``{name: field}`` dicts, the ``config`` record's fields), ``version``, ``priority``
(default 0) and ``class Plugin`` whose constructor takes the ``config`` dict and whose
phase methods (``certificate``, ``rewrite``, ``access``, ``response``, ``log``) take
one argument, ``kong``.  Its name is the file name without ``.py``.

:func:`adapt` turns it into a Moongate plugin class: one ``Plugin(config)`` object per
plugin configuration (as Kong's plugin server starts one instance per config), phase
methods called with :class:`LuaStyleKong`, a view of the real PDK whose calls return
``(value, err)`` tuples as kong-python-pdk does by default (with the setting
``kong_python_pdk_lua_style = false``, values are returned and errors raised as
``PDKException``, its ``--no-lua-style`` mode).  ``kong.response.exit`` and
``kong.response.error`` end the handler at once, as they do there.

``import kong_pdk.pdk.kong as kong`` (for type hints) works without kong-python-pdk
installed: :func:`install_fallback` puts a minimal ``kong_pdk`` package at the end of
``sys.path`` when none is installed.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pdk.errors import PDKError

__all__ = ["LuaStyleKong", "adapt", "install_fallback", "is_kong_python_pdk_plugin"]

#: the phases kong-python-pdk knows for HTTP (``preread`` is a stream phase)
PHASES = ("certificate", "rewrite", "access", "response", "log")
_FALLBACK = Path(__file__).resolve().parent / "kong_pdk_fallback"


def install_fallback() -> None:
    """Make ``kong_pdk`` importable (ours, minimal) unless kong-python-pdk is installed."""
    if str(_FALLBACK) in sys.path:
        return
    if importlib.util.find_spec("kong_pdk") is None:
        sys.path.append(str(_FALLBACK))


def is_kong_python_pdk_plugin(obj: Any) -> bool:
    """A module in kong-python-pdk's shape: ``class Plugin`` and ``version``/``priority``/
    ``Schema`` at module level, without Moongate's ``PRIORITY``/``VERSION``."""
    if not isinstance(obj, ModuleType) or not inspect.isclass(getattr(obj, "Plugin", None)):
        return False
    ours = any(hasattr(src, attr) for src in (obj, obj.Plugin) for attr in ("PRIORITY", "VERSION"))
    return not ours and any(hasattr(obj, attr) for attr in ("version", "priority", "Schema"))


class PDKException(Exception):
    """kong-python-pdk's exception type for failed PDK calls (``--no-lua-style``)."""


class _Namespace:
    """``kong.<path>``: attribute access walks the real PDK, calls are adapted."""

    __slots__ = ("_path", "_target", "_lua_style")

    def __init__(self, path: str, target: Any, lua_style: bool) -> None:
        self._path = path
        self._target = target
        self._lua_style = lua_style

    def __getattr__(self, name: str) -> Any:
        path = f"{self._path}.{name}"
        if path == "kong.ctx.shared":
            return _Shared(self._target.shared, self._lua_style)
        return _Namespace(path, getattr(self._target, name), self._lua_style)

    def __call__(self, *args: Any) -> Any:
        if self._path.startswith("kong.log"):  # kong-python-pdk coerces these arguments with str()
            args = tuple(a if isinstance(a, str | int | list | dict) else str(a) for a in args)
        try:
            value = self._target(*args)
        except PDKError as err:
            if self._lua_style:
                return None, str(err)
            raise PDKException(f"exception from {self._path}: {err}") from err
        return (value, None) if self._lua_style else value

    def __repr__(self) -> str:
        return f"<{self._path}>"


class _Shared:
    """kong-python-pdk's ``kong.ctx.shared``: ``get(k)`` and ``set(k, v)``."""

    __slots__ = ("_data", "_lua_style")

    def __init__(self, data: dict[str, Any], lua_style: bool) -> None:
        self._data = data
        self._lua_style = lua_style

    def get(self, key: str) -> Any:
        value = self._data.get(key)
        return (value, None) if self._lua_style else value

    def set(self, key: str, value: Any) -> Any:
        self._data[key] = value
        return (None, None) if self._lua_style else None


class LuaStyleKong(_Namespace):
    """The ``kong`` object a kong-python-pdk plugin's phase method receives."""

    __slots__ = ()

    def __init__(self, kong: Any, lua_style: bool = True) -> None:
        super().__init__("kong", kong, lua_style)


def _lua_style() -> bool:
    from pdk._settings import default_settings

    return default_settings().kong_python_pdk_lua_style


def adapt(module: ModuleType, name: str) -> type:
    """A Moongate plugin class running the kong-python-pdk plugin ``module`` as ``name``."""
    cls = module.Plugin
    instances: dict[str, tuple[dict[str, Any], Any]] = {}  # plugin id -> (conf, Plugin(config))

    def instance_for(conf: dict[str, Any]) -> Any:
        key = conf.get("__plugin_id") or ""
        found = instances.get(key)
        if found is None or found[0] is not conf:  # a new configuration: a new instance
            config = {k: v for k, v in conf.items() if not k.startswith("__")}
            found = instances[key] = (conf, cls(config))
        return found[1]

    def phase_method(phase: str) -> Any:
        def handler(self: Any, kong: Any, conf: dict[str, Any]) -> None:
            # kong.response.exit/error raise the PDK's ExitSignal: the handler ends there
            getattr(instance_for(conf), phase)(LuaStyleKong(kong, _lua_style()))

        handler.__name__ = phase
        handler.__qualname__ = f"{name}.{phase}"
        return handler

    namespace: dict[str, Any] = {
        "NAME": name,
        "PRIORITY": getattr(module, "priority", 0),
        "VERSION": getattr(module, "version", None),
        "SCHEMA": list(getattr(module, "Schema", ()) or ()),
        "__module__": module.__name__,
        "__doc__": module.__doc__,
    }
    for phase in PHASES:
        if callable(getattr(cls, phase, None)):
            namespace[phase] = phase_method(phase)
    return type(f"KongPythonPdk_{name.replace('-', '_')}", (), namespace)
