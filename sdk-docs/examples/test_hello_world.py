"""Tests for hello-world: one through a real gateway, one for its schema."""

from pathlib import Path

import pytest

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings

PLUGINS_DIR = Path(__file__).parent / "plugins"


async def test_greeting_header(make_gateway, echo_upstream, http):
    config = {
        "_format_version": "3.0",
        "services": [{"name": "echo", "url": echo_upstream.url, "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "hello-world", "config": {"greeting": "hi"}}],
    }
    gateway = await make_gateway(config, plugins_dirs=[PLUGINS_DIR])
    async with http.get(gateway.url + "/anything") as resp:
        assert resp.status == 200
        assert resp.headers["X-Hello"] == "hi"
        echoed = await resp.json()  # the echo upstream answers with the request it got
    assert echoed["path"] == "/anything"


def test_unknown_config_field_is_refused():
    registry = build_registry(Settings(plugins_dirs=[str(PLUGINS_DIR)]))
    config = {"_format_version": "3.0", "plugins": [{"name": "hello-world", "config": {"greting": "hi"}}]}
    with pytest.raises(ConfigError) as excinfo:
        load_data(config, registry, source="kong.yml")
    assert excinfo.value.errors == ["kong.yml: plugins[0] (name=hello-world): config.greting: unknown field"]
