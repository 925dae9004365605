"""The settings PDK functions read when the request context carries none.

The host installs its frozen :class:`~host.settings.Settings` here at start-up
(:func:`set_default_settings`); outside a request (``init_worker``, timers, the
CLI) and in tests that build a bare context, PDK functions fall back to them.
This is process configuration, not request state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.settings import Settings

__all__ = ["default_settings", "set_default_settings", "settings_of"]

_default: Settings | None = None


def set_default_settings(settings: Settings | None) -> None:
    """Install the gateway's settings (``None`` goes back to built-in defaults)."""
    global _default
    _default = settings


def default_settings() -> Settings:
    """The installed settings, or Kong's defaults (created once) when none were installed."""
    global _default
    if _default is None:
        from host.settings import Settings

        _default = Settings()
    return _default


def settings_of(ctx: Any) -> Settings:
    """``ctx.settings``, or the default settings."""
    return ctx.settings or default_settings()
