"""Entities a Lua plugin declares in its daos.lua, in the declarative file.

The ``dao-tokens`` test plugin (tests/lua_plugins/kong/plugins/dao-tokens/) declares
``dao_tokens``: a consumer, a unique generated ``token``, a ``scope`` with a default.
Other daos.lua files are written per test into a temporary plugin directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from host.config import ConfigError, load_data
from host.config.ids import entity_id
from host.gateway import build_registry
from host.plugins.spec import PluginRegistry
from host.settings import Settings
from tests.host.lua.test_smoke import LUA_PLUGINS

REPO = Path(__file__).resolve().parents[3]
HANDLER = "return { PRIORITY = 1, VERSION = '1.0.0' }"
SCHEMA = 'return { name = "%s", fields = { { config = { type = "record", fields = {} } } } }'
TOKEN_FIELDS = """
      { id = typedefs.uuid },
      { created_at = typedefs.auto_timestamp_s },
      { consumer = { type = "foreign", reference = "consumers", required = true, on_delete = "cascade" } },
      { token = { type = "string", required = true, unique = true, auto = true } },"""


@pytest.fixture(scope="module")
def registry() -> PluginRegistry:
    return build_registry(Settings(plugins_dirs=[str(LUA_PLUGINS)], plugins=["off"]))


def load(registry: PluginRegistry, **entities: Any) -> Any:
    return load_data({"_format_version": "3.0", **entities}, registry, source="kong.yml")


def errors_of(registry: PluginRegistry, **entities: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(registry, **entities)
    return info.value.errors


def write_plugin(root: Path, name: str, daos: str) -> Path:
    folder = root / "kong" / "plugins" / name
    folder.mkdir(parents=True)
    (folder / "handler.lua").write_text(HANDLER)
    (folder / "schema.lua").write_text(SCHEMA % name)
    (folder / "daos.lua").write_text('local typedefs = require "kong.db.schema.typedefs"\n' + daos)
    return folder


def registry_of(root: Path) -> PluginRegistry:
    return build_registry(Settings(plugins_dirs=[str(root)], plugins=["off"]))


# -- what a valid file gives -----------------------------------------------------------------------


def test_nested_and_top_level_tokens(registry):
    alice_id = "8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11"
    config = load(
        registry,
        consumers=[
            {"id": alice_id, "username": "alice", "dao_tokens": [{"token": "alice-1", "tags": ["ci"]}]},
            {"username": "bob"},
        ],
        dao_tokens=[
            {"consumer": "bob", "token": "bob-1", "scope": "write"},
            {"consumer": alice_id, "token": "alice-2"},
        ],
    )
    tokens = config.credentials["dao_tokens"]
    bob_id = entity_id("consumers", "bob")
    assert [(t["token"], t["consumer"], t["scope"], t["tags"]) for t in tokens] == [
        ("alice-1", {"id": alice_id}, "read", ["ci"]),  # scope: the daos.lua default
        ("bob-1", {"id": bob_id}, "write", None),
        ("alice-2", {"id": alice_id}, "read", None),
    ]
    assert set(tokens[0]) == {"id", "created_at", "consumer", "token", "scope", "tags"}
    assert tokens[0]["created_at"] == 0
    assert config.entity_counts()["dao_tokens"] == 3


def test_ids_are_stable_and_never_derived_from_the_token(registry):
    consumers = [{"username": "alice", "dao_tokens": [{"token": "one"}, {"token": "two"}]}]
    first = load(registry, consumers=consumers)
    again = load(registry, consumers=consumers)
    ids = [t["id"] for t in first.credentials["dao_tokens"]]
    assert ids == [t["id"] for t in again.credentials["dao_tokens"]] and len(set(ids)) == 2
    renamed = [{"username": "alice", "dao_tokens": [{"token": "three"}, {"token": "four"}]}]
    assert [t["id"] for t in load(registry, consumers=renamed).credentials["dao_tokens"]] == ids


def test_a_missing_token_is_generated(registry):
    consumers = [{"username": "alice", "dao_tokens": [{}, {}]}]
    first, second = load(registry, consumers=consumers), load(registry, consumers=consumers)
    a, b = first.credentials["dao_tokens"]
    assert len(a["token"]) >= 20 and a["token"] != b["token"]
    # like a generated key-auth key: random (a secret is never derived from public data), id stable
    assert a["token"] != second.credentials["dao_tokens"][0]["token"]
    assert a["id"] == second.credentials["dao_tokens"][0]["id"]


# -- what a wrong file gives ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entities", "expected"),
    [
        (
            {"consumers": [{"username": "alice", "dao_tokens": [{"token": None}]}]},
            ["kong.yml: consumers[0].dao_tokens[0]: token: required field missing"],
        ),
        (
            {"consumers": [{"username": "alice"}], "dao_tokens": [{"token": "t"}]},
            ["kong.yml: dao_tokens[0]: consumer: required field missing"],
        ),
        (
            {"consumers": [{"username": "alice", "dao_tokens": [{"token": "t", "secret": "x"}]}]},
            ["kong.yml: consumers[0].dao_tokens[0]: secret: unknown field"],
        ),
        (
            {"consumers": [{"username": "alice", "dao_tokens": [{"token": "t", "scope": "admin"}]}]},
            ["kong.yml: consumers[0].dao_tokens[0]: scope: expected one of: read, write"],
        ),
        (
            {"dao_tokens": [{"consumer": "carol", "token": "t"}]},
            [
                "kong.yml: dao_tokens[0]: consumer: invalid reference 'consumer: carol' (no such entry in 'consumers')"
            ],
        ),
        (
            {
                "consumers": [{"username": "alice", "dao_tokens": [{"token": "same"}]}, {"username": "bob"}],
                "dao_tokens": [{"consumer": "bob", "token": "same"}],
            },
            [
                "kong.yml: dao_tokens[0]: uniqueness violation: "
                "'dao_tokens' entity with token set to 'same' already declared"
            ],
        ),
        (
            {"consumers": [{"username": "alice", "dao_tokens": [{"token": "t", "consumer": "alice"}]}]},
            [
                "kong.yml: consumers[0].dao_tokens[0]: consumer: value must be null "
                "(it is taken from the enclosing 'consumers' entry)"
            ],
        ),
        (
            {"consumers": [{"username": "alice", "dao_tokens": {"token": "t"}}]},
            ["kong.yml: consumers[0] (username=alice): dao_tokens: expected an array"],
        ),
    ],
    ids=["required-nested", "required-top", "unknown", "one_of", "dangling", "duplicate", "fk", "array"],
)
def test_config_errors_name_file_entity_and_field(registry, entities, expected):
    assert errors_of(registry, **entities) == expected


def test_entities_of_a_plugin_that_is_not_loaded_are_unknown():
    without = build_registry(Settings(plugins_dirs=[], plugins=["off"]))
    entities = {
        "consumers": [{"username": "alice", "dao_tokens": [{}]}],
        "dao_tokens": [{"consumer": "alice"}],
    }
    assert errors_of(without, **entities) == [
        "kong.yml: dao_tokens: unknown field",
        "kong.yml: consumers[0] (username=alice): dao_tokens: unknown field",
    ]


# -- the two styles of daos.lua, and what a schema may declare ---------------------------------------


def test_kong_2_keyed_daos_load_like_the_array_style(tmp_path):
    write_plugin(
        tmp_path,
        "keyed",
        f"""return {{
  keyed_tokens = {{
    primary_key = {{ "id" }}, cache_key = {{ "token" }}, endpoint_key = "token",
    fields = {{ {TOKEN_FIELDS} }},
  }},
  keyed_notes = {{
    name = "keyed_notes", primary_key = {{ "id" }},
    fields = {{ {{ id = typedefs.uuid }}, {{ text = {{ type = "string", required = true }} }},
               {{ token = {{ type = "foreign", reference = "keyed_tokens", required = true }} }} }},
  }},
}}""",
    )
    registry = registry_of(tmp_path)
    assert registry.failures == {}
    entities = [e.name for e in registry.get("keyed").extra["entities"]]
    assert entities == ["keyed_notes", "keyed_tokens"]
    config = load(
        registry,
        consumers=[{"username": "alice", "keyed_tokens": [{"token": "k", "keyed_notes": [{"text": "hi"}]}]}],
    )
    (token,) = config.credentials["keyed_tokens"]
    assert config.credentials["keyed_notes"] == [
        {"id": config.credentials["keyed_notes"][0]["id"], "text": "hi", "token": {"id": token["id"]}}
    ]


def test_transformations_run_on_write_unless_transform_is_false(tmp_path):
    write_plugin(
        tmp_path,
        "sealed",
        f"""return {{ {{
  name = "sealed_tokens", primary_key = {{ "id" }},
  fields = {{ {TOKEN_FIELDS} }},
  transformations = {{ {{
    input = {{ "token" }}, needs = {{ "consumer.id" }},
    on_write = function(token, consumer_id)
      if token == "refused" then return nil, "token refused" end
      return {{ token = token:upper() .. "@" .. consumer_id:sub(1, 8) }}
    end,
  }} }},
}} }}""",
    )
    registry = registry_of(tmp_path)
    consumers = [{"username": "alice", "sealed_tokens": [{"token": "abc"}]}]
    consumer_id = entity_id("consumers", "alice")
    (sealed,) = load(registry, consumers=consumers).credentials["sealed_tokens"]
    assert sealed["token"] == f"ABC@{consumer_id[:8]}"
    plain = load_data({"_format_version": "3.0", "_transform": False, "consumers": consumers}, registry)
    assert plain.credentials["sealed_tokens"][0]["token"] == "abc"
    refused = [{"username": "alice", "sealed_tokens": [{"token": "refused"}]}]
    assert errors_of(registry, consumers=refused) == [
        "kong.yml: consumers[0].sealed_tokens[0]: transformation failed: token refused"
    ]


def test_a_plugins_own_daos_replaces_moongates_definition_of_its_credentials(tmp_path):
    write_plugin(
        tmp_path,
        "basic-auth",
        """return { {
  name = "basicauth_credentials", primary_key = { "id" }, cache_key = { "username" }, endpoint_key = "username",
  fields = {
    { id = typedefs.uuid },
    { consumer = { type = "foreign", reference = "consumers", required = true, on_delete = "cascade" } },
    { username = { type = "string", required = true, unique = true } },
    { password = { type = "string", required = true } },
  },
  transformations = { {
    input = { "password" },
    on_write = function(password) return { password = "lua:" .. password } end,
  } },
} }""",
    )
    registry = registry_of(tmp_path)
    consumers = [{"username": "alice", "basicauth_credentials": [{"username": "a", "password": "pw"}]}]
    (credential,) = load(registry, consumers=consumers).credentials["basicauth_credentials"]
    assert credential["password"] == "lua:pw"
    assert "created_at" not in credential  # the fields of this daos.lua, not Moongate's


def test_generated_uuids_are_stable_and_other_primary_keys_stay_out_of_files(tmp_path):
    write_plugin(
        tmp_path,
        "misc",
        """return {
  { name = "misc_links", primary_key = { "id" }, ttl = true,
    fields = { { id = typedefs.uuid }, { ref = { type = "string", uuid = true, auto = true } } } },
  { name = "misc_counters", primary_key = { "bucket", "period" },
    fields = { { bucket = { type = "string" } }, { period = { type = "integer" } } } },
}""",
    )
    registry = registry_of(tmp_path)
    first, second = (load(registry, misc_links=[{"ttl": 60}]).credentials["misc_links"][0] for _ in range(2))
    assert first["ref"] == second["ref"] and first["ref"] != first["id"]
    assert first["ttl"] == 60  # ttl = true: entities may say when they expire, as in Kong
    assert errors_of(registry, misc_counters=[{"bucket": "b", "period": 1}]) == [
        "kong.yml: misc_counters: unknown field "
        "('misc_counters' entities cannot be declared in a file: its primary key is (bucket, period), not 'id')"
    ]


# -- a bad daos.lua: the plugin is not loaded, the others are --------------------------------------


@pytest.mark.parametrize(
    ("daos", "message"),
    [
        (
            "return { { name = 'x', primary_key = { 'id' }, fields = {",
            "daos.lua:2: unexpected symbol near '<eof>'",
        ),
        (
            "return { { name = 'bad_tokens', primary_key = { 'id' }, fields = {"
            " { id = typedefs.uuid }, { token = { type = 'strnig' } } } } }",
            "invalid daos.lua: schema 'bad_tokens': token: invalid type: strnig",
        ),
        (
            "return { { name = 'bad_tokens', fields = { { id = typedefs.uuid } } } }",
            "invalid daos.lua: schema 'bad_tokens': primary_key: required field missing",
        ),
        (
            "return { { name = 'bad_tokens', primary_key = { 'id' }, cache_key = { 'code' },"
            " fields = { { id = typedefs.uuid }, { code = { type = 'string' } } } } }",
            "invalid daos.lua: schema 'bad_tokens': cache_key: a field used as a single cache key must be unique",
        ),
        (
            "return { { name = 'bad_tokens', primary_key = { 'id' }, table = 'x', fields = { { id = typedefs.uuid } } } }",
            "invalid daos.lua: schema 'bad_tokens': table: unknown field",
        ),
        (
            "return { { name = 'bad_tokens', primary_key = { 'id' }, fields = { { id = typedefs.uuid },"
            " { owner = { type = 'foreign', reference = 'owners' } } } } }",
            "invalid daos.lua: schema 'bad_tokens': owner: schema refers to an invalid foreign entity: owners",
        ),
        (
            "return { { name = 'services', primary_key = { 'id' }, fields = { { id = typedefs.uuid } } } }",
            "invalid daos.lua: schema 'services': name: 'services' is a core entity",
        ),
        (
            "return { { name = 'dao_tokens', primary_key = { 'id' }, fields = { { id = typedefs.uuid } } } }",
            "invalid daos.lua: schema 'dao_tokens': name: 'dao_tokens' is an entity of the 'dao-tokens' plugin",
        ),
        (
            "return { { name = 'bad_tokens', primary_key = { 'id' }, ttl = true,"
            " fields = { { id = typedefs.uuid }, { ttl = { type = 'integer' } } } } }",
            "invalid daos.lua: schema 'bad_tokens': ttl: ttl is a reserved field name when ttl is enabled",
        ),
        (
            "return { { name = 'bad_tokens', primary_key = { 'id' }, fields = { { id = typedefs.uuid } } },"
            " { name = 'bad_tokens', primary_key = { 'id' }, fields = { { id = typedefs.uuid } } } }",
            "invalid daos.lua: schema 'bad_tokens': declared twice",
        ),
        ("return 'tokens'", "daos.lua must return a table of entity schemas, got string"),
        (
            "return { 1, x = 2 }",
            "daos.lua must return an array of entity schemas (or, Kong 2.x style, a table of them by name)",
        ),
    ],
    ids=[
        "syntax",
        "type",
        "primary_key",
        "cache_key",
        "unknown",
        "reference",
        "core",
        "taken",
        "ttl",
        "twice",
        "not-a-table",
        "mixed",
    ],
)
def test_a_bad_daos_lua_fails_its_plugin_only(tmp_path, daos, message):
    folder = write_plugin(tmp_path, "zz-bad", daos)
    registry = build_registry(Settings(plugins_dirs=[str(LUA_PLUGINS), str(tmp_path)], plugins=["off"]))
    assert "zz-bad" not in registry
    assert registry.failures["zz-bad"].startswith(f"plugin 'zz-bad' ({folder / 'daos.lua'}): ")
    assert registry.failures["zz-bad"].endswith(message)
    assert set(registry.failures) == {"zz-bad"}
    assert "dao-tokens" in registry and load(registry, consumers=[{"username": "a", "dao_tokens": [{}]}])


def test_a_plugin_referring_to_a_failed_plugins_entity_fails_too(tmp_path):
    write_plugin(tmp_path, "base", "return { { name = 'base_items', fields = { { id = typedefs.uuid } } } }")
    write_plugin(
        tmp_path,
        "child",
        "return { { name = 'child_items', primary_key = { 'id' }, fields = { { id = typedefs.uuid },"
        " { item = { type = 'foreign', reference = 'base_items' } } } } }",
    )
    registry = registry_of(tmp_path)
    assert registry.names() == []
    assert registry.failures["base"].endswith("primary_key: required field missing")
    assert registry.failures["child"].endswith("item: schema refers to an invalid foreign entity: base_items")


# -- moongate config validate ------------------------------------------------------------------------------


def validate(path: Path, *plugin_dirs: Path) -> subprocess.CompletedProcess[str]:
    dirs = [arg for d in plugin_dirs for arg in ("--plugins-dir", str(d))]
    command = [sys.executable, "-m", "host.cli", "config", "validate", str(path), *dirs]
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}
    )


def test_config_validate_accepts_and_rejects_the_same(tmp_path):
    good = tmp_path / "kong.yml"
    good.write_text(
        yaml.safe_dump(
            {
                "_format_version": "3.0",
                "consumers": [{"username": "alice", "dao_tokens": [{"token": "a"}]}, {"username": "bob"}],
                "dao_tokens": [{"consumer": "bob", "token": "b"}],
            }
        )
    )
    result = validate(good, LUA_PLUGINS)
    assert (result.returncode, result.stdout) == (
        0,
        "kong.yml: configuration is valid (2 consumers, 2 dao_tokens)\n",
    )
    bad = tmp_path / "bad.yml"
    bad.write_text('_format_version: "3.0"\ndao_tokens:\n- {consumer: carol, token: c}\n')
    result = validate(bad, LUA_PLUGINS)
    assert (result.returncode, result.stdout) == (
        1,
        "bad.yml: dao_tokens[0]: consumer: invalid reference 'consumer: carol' (no such entry in 'consumers')\n",
    )
    result = validate(good)  # without the plugin
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "kong.yml: dao_tokens: unknown field",
        "kong.yml: consumers[0] (username=alice): dao_tokens: unknown field",
    ]
