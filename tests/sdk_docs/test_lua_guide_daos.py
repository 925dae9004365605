"""What sdk-docs/lua-guide.md says of entities from daos.lua, checked with its token-auth example.

The example's files are quoted by the guide (tests/sdk_docs/test_lua_guide.py checks the
blocks); here its table runs through a real gateway with ``tokens.yml``, and the messages
it shows are the ones the loader and the plugin loader give.
"""

from __future__ import annotations

import copy
import re
import shutil

import pytest
import yaml

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings
from tests.sdk_docs._support import EXAMPLES, example_config
from tests.sdk_docs.test_lua_guide import LUA_EXAMPLES, header_cells, section, table_cells

PLUGIN = LUA_EXAMPLES / "kong" / "plugins" / "token-auth"


def daos_section() -> str:
    text = section(3, "### Entities from daos.lua")
    assert text, "the guide has no 'Entities from daos.lua' section"
    return text


def shown(start: str) -> str:
    """The backquoted text of the guide's section that starts with ``start``."""
    match = re.search(rf"`({re.escape(start)}[^`]*)`", daos_section())
    assert match, f"the guide shows no message starting with {start!r}"
    return match[1]


def tokens() -> dict:
    return yaml.safe_load((EXAMPLES / "lua_plugins" / "tokens.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def registry():
    return build_registry(Settings(plugins_dirs=[str(LUA_EXAMPLES)]))


def rows() -> list[tuple[str, str]]:
    table = daos_section().split("With `tokens.yml`:", 1)[1]
    return list(zip(table_cells(table, 0), table_cells(table, 1), strict=True))


@pytest.mark.parametrize(("request_cell", "answer_cell"), rows())
async def test_the_table(make_gateway, echo_upstream, http, request_cell, answer_cell):
    gateway = await make_gateway(
        example_config("lua_plugins/tokens.yml", echo_upstream.url), plugins_dirs=[LUA_EXAMPLES]
    )
    path = re.match(r"`GET ([^`]+)`", request_cell)[1]
    async with http.get(gateway.url + path, headers=header_cells(request_cell)) as resp:
        status, body = resp.status, await resp.json()
    assert status == int(re.match(r"\d+", answer_cell)[0])
    if status == 200:
        echoed = {k.lower(): v for k, v in body["headers"].items()}
        expected = header_cells(answer_cell)
        assert {k: echoed.get(k.lower()) for k in expected} == expected
    else:
        assert f"`{body}`".replace("'", '"').replace(": ", ":") in answer_cell


def test_what_the_loader_fills_in(registry):
    config = load_data(tokens(), registry, source="tokens.yml")
    by_token = {t["token"]: t for t in config.credentials["auth_tokens"]}
    assert by_token["bob-token"]["scopes"] == ["read"]  # "bob's token has scopes: [read]"
    generated = tokens()
    generated["consumers"][1]["auth_tokens"] = [{}]
    (token,) = [
        t for t in load_data(generated, registry).credentials["auth_tokens"] if t["token"] not in by_token
    ]
    assert len(token["token"]) >= 20


def test_the_messages_shown_for_mistakes(registry):
    dangling = tokens()
    dangling["auth_tokens"][0]["consumer"] = "carol"
    duplicate = tokens()
    duplicate["consumers"][0]["auth_tokens"].append({"token": "alice-token"})
    for data, message in [
        (dangling, shown("tokens.yml: auth_tokens[0]")),
        (duplicate, shown("tokens.yml: consumers[0].auth_tokens[1]")),
    ]:
        with pytest.raises(ConfigError) as info:
            load_data(data, registry, source="tokens.yml")
        assert info.value.errors == [message]


def test_without_the_plugin_the_entities_are_unknown():
    assert "`unknown field`" in daos_section()
    without = build_registry(Settings(plugins_dirs=[], plugins=["off"]))
    data = {"_format_version": "3.0", "auth_tokens": copy.deepcopy(tokens()["auth_tokens"])}
    with pytest.raises(ConfigError) as info:
        load_data(data, without, source="tokens.yml")
    assert info.value.errors == ["tokens.yml: auth_tokens: unknown field"]


def test_kong_2_keyed_form_loads_too(tmp_path, registry):
    folder = tmp_path / "kong" / "plugins" / "token-auth"
    shutil.copytree(PLUGIN, folder)
    daos = (folder / "daos.lua").read_text()
    keyed = daos.replace('return {\n  {\n    name = "auth_tokens",', "return {\n  auth_tokens = {")
    assert keyed != daos and "return { auth_tokens = { ... } }" in daos_section()
    (folder / "daos.lua").write_text(keyed)
    keyed_registry = build_registry(Settings(plugins_dirs=[str(tmp_path)], plugins=["off"]))
    assert keyed_registry.failures == {}
    loaded = load_data(tokens(), keyed_registry).credentials["auth_tokens"]
    assert [t["token"] for t in loaded] == [
        t["token"] for t in load_data(tokens(), registry).credentials["auth_tokens"]
    ]


def test_a_wrong_daos_lua_gives_the_message_shown(tmp_path):
    folder = tmp_path / "kong" / "plugins" / "token-auth"
    shutil.copytree(PLUGIN, folder)
    daos = folder / "daos.lua"
    daos.write_text(daos.read_text().replace('{ token = { type = "string"', '{ token = { type = "strnig"'))
    registry = build_registry(Settings(plugins_dirs=[str(tmp_path)], plugins=["off"]))
    expected = shown("plugin 'token-auth'").replace("/srv/plugins", str(tmp_path))
    assert "token-auth" not in registry and registry.failures == {"token-auth": expected}
