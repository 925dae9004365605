"""daos.lua at every trust level: the entities of sandboxed and isolated plugins.

A sandboxed plugin's daos.lua runs in its own sandboxed runtime, in a data-only
environment (Kong's ``lua`` globals, ``ngx.null``, the allowed requires: no ``kong``,
no I/O) under the load-time CPU budget; an isolated plugin's in the gateway's
sandboxed runtime that holds its schema.  Their entities are accepted by the
declarative loader, and a sandboxed plugin reads them with ``kong.db``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings
from tests.host.lua.sandbox.test_trust import write_plugin
from tests.host.lua.test_db_daos import TOKENS, call, gateway_config, upstream_headers
from tests.host.lua.test_smoke import LUA_PLUGINS


def entity(name: str) -> str:
    """A daos.lua declaring one entity; ``name`` is a Lua expression."""
    return (
        'local typedefs = require "kong.db.schema.typedefs"\n'
        f'return {{ {{ name = {name}, primary_key = {{ "id" }},\n'
        '  fields = { { id = typedefs.uuid }, { label = { type = "string", required = true } } } } }\n'
    )


@pytest.mark.parametrize("level", ["sandboxed", "isolated"])
def test_the_entities_of_untrusted_plugins_are_declared(level: str) -> None:
    registry = build_registry(Settings(plugins_dirs=[str(LUA_PLUGINS)], plugin_trust={"dao-tokens": level}))
    spec = registry.get("dao-tokens")
    assert spec is not None and spec.extra["trust"] == level
    assert [etype.name for etype in spec.extra["entities"]] == ["dao_tokens"]
    config = load_data(TOKENS, registry, source="kong.yml")
    tokens = {row["token"]: row["scope"] for row in config.credentials["dao_tokens"]}
    assert tokens == {
        "alice-read": "read",
        "alice-write": "write",
        "carol-token": "read",
        "bob-token": "read",
    }
    bad = {**TOKENS, "dao_tokens": [{"consumer": "bob", "token": "t", "scope": "admin"}]}
    with pytest.raises(ConfigError) as info:
        load_data(bad, registry, source="kong.yml")
    assert any("dao_tokens" in error and "scope" in error for error in info.value.errors), info.value.errors


@pytest.mark.parametrize(
    ("token", "username", "scope"),
    [("alice-read", "alice", "read"), ("bob-token", "bob", "read"), ("alice-write", "alice", "write")],
    ids=["nested", "top-level", "scope"],
)
async def test_a_sandboxed_plugin_reads_its_entities_with_kong_db(
    make_gateway, echo_upstream, http, token: str, username: str, scope: str
) -> None:
    gw = await make_gateway(
        gateway_config(echo_upstream), plugins_dirs=[LUA_PLUGINS], plugin_trust={"dao-tokens": "sandboxed"}
    )
    assert gw.gateway.registry.get("dao-tokens").extra["trust"] == "sandboxed"
    status, body = await call(http, gw.url + "/api/x", **{"X-Token": token})
    assert status == 200
    upstream = upstream_headers(body)
    assert (upstream["x-consumer-username"], upstream["x-token-scope"]) == (username, scope)
    assert await call(http, gw.url + "/api", **{"X-Token": "nope"}) == (401, {"message": "Unauthorized"})


def test_daos_lua_runs_in_a_data_only_environment(tmp_path: Path) -> None:
    # what daos.lua sees becomes the entity's name: no kong, ngx.null only, no io.open/os.execute
    seen = '"seen_" .. type(kong) .. "_" .. type(ngx.null) .. "_" .. type(io.open) .. "_" .. type(os.execute)'
    write_plugin(tmp_path, "data-only", "", extra={"daos.lua": entity(seen)})
    registry = build_registry(Settings(untrusted_plugins_dirs=[str(tmp_path)]))
    spec = registry.get("data-only")
    assert spec is not None and spec.extra["trust"] == "sandboxed", registry.failures
    assert [etype.name for etype in spec.extra["entities"]] == ["seen_nil_userdata_nil_nil"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("while true do end", "CPU budget of 2 s exceeded while loading"),
        ("local db = kong.db", "attempt to index global 'kong' (a nil value)"),
        ("ngx.say('x')", "attempt to call field 'say' (a nil value)"),
        ("io.open('/etc/passwd')", "attempt to call field 'open' (a nil value)"),
        ("require('ffi')", "require 'ffi' not allowed within sandbox"),
        ("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 4e6) .. i end", "not enough memory"),
    ],
    ids=["loop", "kong", "ngx", "io", "ffi", "memory"],
)
def test_hostile_daos_lua_fails_only_its_plugin(tmp_path: Path, code: str, message: str) -> None:
    folder = write_plugin(tmp_path, "hostile-daos", "", extra={"daos.lua": code + "\nreturn {}\n"})
    write_plugin(tmp_path, "fine-daos", "", extra={"daos.lua": entity('"fine_rows"')})
    started = time.monotonic()
    registry = build_registry(Settings(untrusted_plugins_dirs=[str(tmp_path)]))
    assert time.monotonic() - started < 15
    assert "hostile-daos" not in registry
    failure = registry.failures["hostile-daos"]
    assert failure.startswith(f"plugin 'hostile-daos' ({folder / 'daos.lua'}): "), failure
    assert message in failure
    assert [etype.name for etype in registry.get("fine-daos").extra["entities"]] == ["fine_rows"]
    assert "pre-function" in registry
