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
_NO_REQUEST = Phase.init_worker | Phase.configure


def __getattr__(name: str) -> Any:
    if name == "shared":
        ctx = current_context()
        return None if ctx.phase & _NO_REQUEST else ctx.shared
    if name == "plugin":
        ctx = current_context()
        if ctx.phase & _NO_REQUEST:
            return None
        return ctx.plugin_ctx.setdefault(ctx.plugin_name or "", {})
    raise AttributeError(f"module 'kong.ctx' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "shared", "plugin"])


#: what ``kong.ctx`` is: this module, whose ``shared``/``plugin`` resolve per request
PDK_NAMESPACE = sys.modules[__name__]
