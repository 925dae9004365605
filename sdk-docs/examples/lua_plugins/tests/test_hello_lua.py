"""Tests for hello-lua: through a real gateway, and the errors its schema gives."""

from pathlib import Path

import pytest

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings

PLUGINS_DIR = Path(__file__).parent.parent  # holds kong/plugins/hello-lua/


def config(upstream_url, plugin_config):
    return {
        "_format_version": "3.0",
        "services": [{"name": "echo", "url": upstream_url, "routes": [{"paths": ["/api"]}]}],
        "plugins": [{"name": "hello-lua", "config": plugin_config}],
    }


async def test_greeting_goes_upstream_and_back(make_gateway, echo_upstream, http):
    gateway = await make_gateway(config(echo_upstream.url, {"greeting": "hi"}), plugins_dirs=[PLUGINS_DIR])
    async with http.get(gateway.url + "/api/items") as resp:
        assert resp.status == 200
        assert resp.headers["X-Greeted"] == "hi"
        echoed = await resp.json()  # the echo upstream answers with the request it got
    assert echoed["headers"]["X-Greeting"] == "hi"


async def test_no_greeting_when_access_did_not_run(make_gateway, echo_upstream, http):
    gateway = await make_gateway(config(echo_upstream.url, {}), plugins_dirs=[PLUGINS_DIR])
    async with http.get(gateway.url + "/elsewhere") as resp:  # no route: 404, access never ran
        assert resp.status == 404
        assert "X-Greeted" not in resp.headers


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("greeting", "tab\there", "the greeting must be printable ASCII"),
        ("greeting", "", "length must be at least 1"),
        (
            "response_header",
            "X Greeted",
            "bad header name 'X Greeted', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
        ),
    ],
)
def test_bad_config_is_refused(field, value, message):
    registry = build_registry(Settings(plugins_dirs=[str(PLUGINS_DIR)]))
    with pytest.raises(ConfigError) as excinfo:
        load_data(config("http://127.0.0.1:9000", {field: value}), registry, source="kong.yml")
    assert excinfo.value.errors == [f"kong.yml: plugins[0] (name=hello-lua): config.{field}: {message}"]
