"""kong.plugin: the running plugin instance."""

from __future__ import annotations

from pdk import plugin


def test_get_id(use):
    use(plugin_id="8f1c2a5e-0000-4000-8000-000000000001")
    assert plugin.get_id() == "8f1c2a5e-0000-4000-8000-000000000001"
