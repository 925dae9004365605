"""kong.configuration from Lua: reads and remove_sensitive() as from Python."""

from __future__ import annotations

import pytest

from host.lua.runtime import LuaHost
from host.settings import Settings
from pdk._settings import set_default_settings


@pytest.fixture
def settings():
    set_default_settings(Settings(admin_token="s3cret", log_level="info"))
    yield
    set_default_settings(None)


def test_remove_sensitive_masks_secrets_and_keeps_the_rest(settings):
    fn = LuaHost().compile_in(
        "t",
        """
        local c = kong.configuration.remove_sensitive()
        return c.admin_token, c.log_level, kong.configuration.log_level, kong.configuration.admin_token
        """,
    )
    assert fn() == (b"******", b"info", b"info", None)
