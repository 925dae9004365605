"""Python half of ``kong.db.schema``: the engine's messages and PCRE checks for Lua validators."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host.schema.messages import MESSAGES
from host.schema.validators import VALIDATORS

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

_IS_REGEX = VALIDATORS["is_regex"]


def backing(host: LuaHost) -> dict[str, Any]:
    def messages() -> Any:
        """Kong's validation messages (``host.schema.messages.MESSAGES``) as a Lua table."""
        return host.to_lua(MESSAGES)

    def is_regex(value: Any) -> bool:
        """Whether ``value`` compiles as a PCRE-style regex (the engine's ``is_regex``)."""
        if value.__class__ is not bytes:
            return False
        ok, _ = _IS_REGEX(value.decode("utf-8", "surrogateescape"), True)
        return bool(ok)

    return {"messages": messages, "is_regex": is_regex}
