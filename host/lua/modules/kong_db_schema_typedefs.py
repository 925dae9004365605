"""Python half of ``kong.db.schema.typedefs``: the engine's typedefs as Lua tables.

Every typedef is defined once, in Python (:mod:`host.schema.typedefs` and
:mod:`host.lua.modules._schema_typedefs`); this backing converts them for Lua,
validators included (see :mod:`host.lua.modules._schema_lua`), in one crossing
when the module is first required.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host.lua.modules._schema_lua import definition_to_lua
from host.lua.modules._schema_typedefs import all_typedefs

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost


def backing(host: LuaHost) -> dict[str, Any]:
    def definitions() -> Any:
        """name -> field definition (a Lua table) for every typedef."""
        return host.runtime.table_from(
            {name.encode(): definition_to_lua(host, dict(td)) for name, td in all_typedefs().items()}
        )

    def untrusted_lua() -> bytes:
        """The ``untrusted_lua`` setting (``on``, ``sandbox`` or ``off``): may lua_code be loaded?"""
        value = getattr(host.settings, "untrusted_lua", None) or "sandbox"
        return str(value).encode()

    return {"definitions": definitions, "untrusted_lua": untrusted_lua}
