"""kong.ctx: per-request tables for plugins.

* ``kong.ctx.shared``: a dict that lives for one request and is shared by every
  plugin (``ctx.shared``).
* ``kong.ctx.plugin``: a dict that lives for one request, private to the running
  plugin: every instance of the same plugin sees the same dict, across phases
  (``ctx.plugin_ctx[plugin_name]``).

Both are ``None`` outside a request (``init_worker``, ``configure``, timers), as
Kong's ``kong.ctx`` returns ``nil`` there.

Example:
    Lua: kong.ctx.shared.user = "alice" ; kong.ctx.plugin.started = ngx.now()
    Python: kong.ctx.shared["user"] = "alice"; kong.ctx.plugin["started"] = time.time()
"""

from __future__ import annotations

import sys
from typing import Any

from host.context import current_context
from pdk.phases import CTX, Phase

__all__: list[str] = []

#: the phases Kong documents for ``kong.ctx`` (for the generated reference)
PHASES = CTX
#: the attributes, for the generated reference
ATTRIBUTES = {
    "shared": "dict shared by all plugins for the current request",
    "plugin": "dict private to the running plugin for the current request",
}
_NO_REQUEST = int(Phase.init_worker | Phase.configure)  # a plain int: IntFlag's `&` is slow


def _shared() -> Any:
    ctx = current_context()
    return None if ctx.phase & _NO_REQUEST else ctx.shared


def _plugin() -> Any:
    ctx = current_context()
    if ctx.phase & _NO_REQUEST:
        return None
    return ctx.plugin_ctx.setdefault(ctx.plugin_name or "", {})


def __getattr__(name: str) -> Any:
    if name == "shared":
        return _shared()
    if name == "plugin":
        return _plugin()
    raise AttributeError(f"module 'kong.ctx' has no attribute {name!r}")


class _CtxNamespace:
    """``kong.ctx``: properties resolve ``shared``/``plugin`` for the current request
    (a property is several times cheaper than a module ``__getattr__``)."""

    __slots__ = ()
    shared = property(lambda self: _shared(), doc=ATTRIBUTES["shared"])
    plugin = property(lambda self: _plugin(), doc=ATTRIBUTES["plugin"])
    PHASES = PHASES
    ATTRIBUTES = ATTRIBUTES

    def __repr__(self) -> str:
        return "<kong.ctx>"


def __dir__() -> list[str]:
    return sorted([*globals(), "shared", "plugin"])


#: what ``kong.ctx`` is: an object whose ``shared``/``plugin`` resolve per request
PDK_NAMESPACE = _CtxNamespace()
_MODULE = sys.modules[__name__]
