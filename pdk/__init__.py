"""The Plugin Development Kit: the ``kong`` object plugins call.

``kong`` is built once, from the single ordered list :data:`NAMESPACES` (Kong's
order in ``kong/pdk/init.lua``), the first time it is asked for: ``from pdk import
kong``.  Python plugins receive it as the first argument of their phase methods;
the Lua bridge exposes the same functions to Lua plugins.  Each namespace module's
``__all__`` lists its public functions; a module may instead provide the object
itself as ``PDK_NAMESPACE`` (``kong.log`` is callable, ``kong.ctx`` resolves per
request).

Building is lazy because :mod:`host.context` imports :mod:`pdk.phases`, and the
namespace modules import :mod:`host.context` in turn.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["NAMESPACES", "Namespace", "build_kong", "kong", "namespace_module"]

#: (public name, module) in Kong's order; ``service.request`` hangs under ``service``,
#: ``client.tls`` under ``client`` (Kong builds it last, for the http subsystem)
NAMESPACES: tuple[tuple[str, str], ...] = (
    ("table", "pdk.table"),
    ("node", "pdk.node"),
    ("log", "pdk.log"),
    ("ctx", "pdk.ctx"),
    ("ip", "pdk.ip"),
    ("client", "pdk.client"),
    ("service", "pdk.service"),
    ("request", "pdk.request"),
    ("service.request", "pdk.service.request"),
    ("service.response", "pdk.service.response"),
    ("response", "pdk.response"),
    ("router", "pdk.router"),
    ("nginx", "pdk.nginx"),
    ("plugin", "pdk.plugin"),
    ("client.tls", "pdk.client_tls"),
)


class Namespace:
    """One PDK namespace (``kong.request``, ...): its functions as attributes, read-only once built."""

    def __init__(self, public_name: str, functions: dict[str, Any]) -> None:
        object.__setattr__(self, "_name", public_name)
        object.__setattr__(self, "_frozen", False)
        for name, value in functions.items():
            object.__setattr__(self, name, value)

    def _attach(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            raise AttributeError(f"{self._name} is read-only")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self._name} is read-only")

    def __repr__(self) -> str:
        return f"<{self._name}>"


def namespace_module(public_name: str) -> ModuleType:
    """The module implementing a namespace, e.g. ``"service.request"`` -> :mod:`pdk.service.request`."""
    return importlib.import_module(dict(NAMESPACES)[public_name])


def build_kong() -> Namespace:
    """Build a new ``kong`` object from :data:`NAMESPACES`."""
    from host.version import KONG_COMPAT_VERSION, KONG_COMPAT_VERSION_NUM
    from pdk.configuration import Configuration

    root = Namespace("kong", {})
    built: list[Namespace] = [root]
    for public_name, module_name in NAMESPACES:
        module = importlib.import_module(module_name)
        obj = getattr(module, "PDK_NAMESPACE", None)
        if obj is None:
            obj = Namespace(f"kong.{public_name}", {name: getattr(module, name) for name in module.__all__})
            built.append(obj)
        parent_name, _, leaf = public_name.rpartition(".")
        parent = getattr(root, parent_name) if parent_name else root
        parent._attach(leaf, obj)
    root._attach("version", KONG_COMPAT_VERSION)
    root._attach("version_num", KONG_COMPAT_VERSION_NUM)
    root._attach("configuration", Configuration())
    for namespace in built:
        namespace._freeze()
    return root


_kong: Namespace | None = None


def __getattr__(name: str) -> Any:
    global _kong
    if name == "kong":
        if _kong is None:
            _kong = build_kong()
        return _kong
    raise AttributeError(f"module 'pdk' has no attribute {name!r}")
