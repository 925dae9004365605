"""kong.plugin: the running plugin instance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pdk.phases import CTX, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["get_id"]


@phase_checked(CTX)
def get_id(ctx: Context) -> str | None:
    """The id of the running plugin's configuration entity.

    Several instances of one plugin share the module; per-instance state is keyed by this id.

    Returns:
        The plugin entity's UUID.

    Example:
        Lua: local id = kong.plugin.get_id()
        Python: plugin_id = kong.plugin.get_id()
    """
    return ctx.plugin_id
