"""Tests for hello-world: through a real gateway, one handler alone, and its schema."""

from pathlib import Path

import hello_world
import pytest

from host.config import ConfigError

PLUGINS_DIR = Path(__file__).parent / "plugins"


async def test_greeting_header(gateway, mock_upstream):
    gw = await gateway.start(
        plugins=[{"name": "hello-world", "config": {"greeting": "hi"}}], plugins_dirs=[PLUGINS_DIR]
    )
    resp = await gw.get("/anything")
    assert resp.status == 200
    assert resp.headers["X-Hello"] == "hi"
    assert resp.json()["path"] == "/anything"  # the mock upstream answers with the request it got
    assert mock_upstream.requests[-1].path == "/anything"


def test_access_handler_alone(fake_kong):
    fk = fake_kong(path="/orders")
    fk.run(hello_world, "access", {"greeting": "yo", "header": "X-Hello"})
    assert fk.response_headers["X-Hello"] == "yo"
    assert not fk.exited


async def test_unknown_config_field_is_refused(gateway):
    with pytest.raises(ConfigError) as excinfo:
        await gateway.start(
            plugins=[{"name": "hello-world", "config": {"greting": "hi"}}], plugins_dirs=[PLUGINS_DIR]
        )
    assert excinfo.value.errors == [
        "test config: plugins[0] (name=hello-world): config.greting: unknown field"
    ]
