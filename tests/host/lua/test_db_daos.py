"""kong.db for the entities a plugin declares in daos.lua, and the dao-tokens plugin end to end.

``dao-tokens`` (tests/lua_plugins/kong/plugins/dao-tokens/) authenticates with a token of
its own entity: ``kong.db.dao_tokens:select_by_token`` through ``kong.cache:get``, the
consumer through ``kong.client.load_consumer``; the upstream learns the username.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host.config import load_data
from host.config.snapshot import Snapshot
from host.context import Context, reset_context, use_context
from host.gateway import build_registry
from host.lua.modules.moongate_cache import purge_lua_cache
from host.settings import Settings
from pdk.phases import Phase
from tests.conftest import service
from tests.host.lua.test_smoke import LUA_PLUGINS

WS = "00000000-0000-0000-0000-000000000000"
TOKENS = {
    "_format_version": "3.0",
    "consumers": [
        {
            "username": "alice",
            "dao_tokens": [{"token": "alice-read"}, {"token": "alice-write", "scope": "write"}],
        },
        {"username": "bob"},
        {"custom_id": "carol-1", "dao_tokens": [{"token": "carol-token"}]},
    ],
    "dao_tokens": [{"consumer": "bob", "token": "bob-token", "tags": ["ci"]}],
}


def gateway_config(upstream: Any, **extra: Any) -> dict[str, Any]:
    routes = [
        {"name": "api", "paths": ["/api"], "plugins": [{"name": "dao-tokens"}]},
        {
            "name": "other",
            "paths": ["/other"],
            "plugins": [{"name": "dao-tokens", "config": {"header_name": "X-Other-Token"}}],
        },
    ]
    return {**TOKENS, "services": [{**service(upstream), "routes": routes}], **extra}


async def call(http: Any, url: str, **headers: str) -> tuple[int, dict[str, Any]]:
    async with http.get(url, headers=headers) as resp:
        return resp.status, await resp.json()


def upstream_headers(body: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in body["headers"].items()}


# -- through a real gateway -------------------------------------------------------------------------


@pytest.fixture
async def gateway(make_gateway, echo_upstream):
    return await make_gateway(gateway_config(echo_upstream), plugins_dirs=[LUA_PLUGINS])


@pytest.mark.parametrize(
    ("token", "username", "scope"),
    [("alice-read", "alice", "read"), ("alice-write", "alice", "write"), ("bob-token", "bob", "read")],
    ids=["nested", "nested-scope", "top-level"],
)
async def test_tokens_authenticate_their_consumer(gateway, http, token, username, scope):
    status, body = await call(http, gateway.url + "/api/x", **{"X-Token": token})
    assert status == 200
    upstream = upstream_headers(body)
    assert (upstream["x-consumer-username"], upstream["x-token-scope"]) == (username, scope)
    assert "x-token" not in upstream  # the plugin does not forward the token


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Token": ""}, {"X-Token": "nope"}, {"X-Other-Token": "alice-read"}],
    ids=["none", "empty", "unknown", "other-header"],
)
async def test_no_or_unknown_token_is_refused(gateway, http, headers):
    assert await call(http, gateway.url + "/api", **headers) == (401, {"message": "Unauthorized"})


async def test_the_config_header_name_is_used(gateway, http):
    status, body = await call(http, gateway.url + "/other", **{"X-Other-Token": "bob-token"})
    assert status == 200 and upstream_headers(body)["x-consumer-username"] == "bob"


async def test_a_consumer_without_username_is_still_authenticated(gateway, http):
    status, body = await call(http, gateway.url + "/api", **{"X-Token": "carol-token"})
    assert status == 200 and "x-consumer-username" not in upstream_headers(body)


async def test_lookups_are_cached_until_a_reload(gateway, echo_upstream, http):
    levels = []
    for _ in range(2):
        status, body = await call(http, gateway.url + "/api", **{"X-Token": "alice-read"})
        levels.append((status, upstream_headers(body)["x-token-hit-level"]))
    assert levels == [(200, "3"), (200, "1")]  # loaded by the callback, then served by kong.cache
    changed = gateway_config(
        echo_upstream, consumers=[{"username": "dave", "dao_tokens": [{"token": "dave"}]}]
    )
    del changed["dao_tokens"]
    await gateway.gateway.apply(load_data(changed, gateway.gateway.registry, source="reload.yml"))
    unauthorized = (401, {"message": "Unauthorized"})
    assert await call(http, gateway.url + "/api", **{"X-Token": "alice-read"}) == unauthorized
    status, body = await call(http, gateway.url + "/api", **{"X-Token": "dave"})
    assert status == 200 and upstream_headers(body)["x-consumer-username"] == "dave"


async def test_a_generated_token_works(make_gateway, echo_upstream, http):
    config = gateway_config(echo_upstream)
    config["consumers"] = [{"username": "erin", "dao_tokens": [{}]}]
    config.pop("dao_tokens")
    gw = await make_gateway(config, plugins_dirs=[LUA_PLUGINS])
    (token,) = gw.gateway.snapshot.credentials("dao_tokens")
    status, body = await call(http, gw.url + "/api", **{"X-Token": token["token"]})
    assert status == 200 and upstream_headers(body)["x-consumer-username"] == "erin"


async def test_a_plugin_with_a_broken_daos_lua_leaves_the_gateway_running(
    make_gateway, echo_upstream, http, tmp_path
):
    broken = tmp_path / "kong" / "plugins" / "broken-daos"
    broken.mkdir(parents=True)
    (broken / "handler.lua").write_text("return { PRIORITY = 1, VERSION = '1.0.0' }")
    (broken / "schema.lua").write_text(
        'return { name = "broken-daos", fields = { { config = { type = "record", fields = {} } } } }'
    )
    (broken / "daos.lua").write_text("return { { name = 'x' ")
    gw = await make_gateway(gateway_config(echo_upstream), plugins_dirs=[LUA_PLUGINS, tmp_path])
    failures = gw.gateway.registry.failures
    assert list(failures) == ["broken-daos"]
    assert failures["broken-daos"].startswith(f"plugin 'broken-daos' ({broken / 'daos.lua'}): ")
    status, _ = await call(http, gw.url + "/api", **{"X-Token": "bob-token"})
    assert status == 200


# -- kong.db's DAO over the snapshot ----------------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Any:
    return build_registry(Settings(plugins_dirs=[str(LUA_PLUGINS)], plugins=["off"]))


@pytest.fixture
def lua(registry) -> Iterator[Any]:
    """Run Lua code in the registry's runtime, in an access phase over the TOKENS snapshot."""
    snapshot = Snapshot(load_data(TOKENS, registry, source="t.yml"), registry)
    ctx = Context(snapshot=snapshot)
    ctx.phase = Phase.access
    token = use_context(ctx)
    host = registry.lua
    purge_lua_cache(host)  # the runtime is shared by this module's tests: kong.cache starts empty
    yield lambda src: host.to_python(host.compile_in("dao-tokens", src, "=t")())
    reset_context(token)


def test_select_and_select_by_unique_field(lua, registry):
    snapshot_tokens = {t["token"]: t for t in load_data(TOKENS, registry).credentials["dao_tokens"]}
    alice_read = snapshot_tokens["alice-read"]
    got = lua(
        f"""
      local by_token = kong.db.dao_tokens:select_by_token("alice-read")
      local by_id = kong.db.dao_tokens:select({{ id = "{alice_read["id"]}" }})
      local none = kong.db.dao_tokens:select_by_token("nope")
      local _, err = kong.db.dao_tokens:select({{ id = "not-a-uuid" }})
      return {{ by_token.id, by_token.consumer.id, by_token.scope, by_id.token, none == nil, err,
               by_token.tags == nil, kong.db.dao_tokens:select_by_token("bob-token").tags[1] }}
    """
    )
    assert got == [
        alice_read["id"],
        alice_read["consumer"]["id"],
        "read",
        "alice-read",
        True,
        "[off] invalid primary key: '{id=\"expected a valid UUID\"}'",
        True,
        "ci",
    ]


def test_each_page_and_page_for_consumer(lua):
    got = lua(
        """
      local tokens = {}
      for row, err in kong.db.dao_tokens:each() do tokens[#tokens + 1] = row.token end
      table.sort(tokens)
      local first, _, _, offset = kong.db.dao_tokens:page(3)
      local rest = kong.db.dao_tokens:page(3, offset)
      local alice = kong.db.consumers:select_by_username("alice")
      local mine = {}
      for row in kong.db.dao_tokens:each_for_consumer({ id = alice.id }) do mine[#mine + 1] = row.token end
      table.sort(mine)
      return { tokens, #first, #rest, offset, mine }
    """
    )
    assert got == [
        ["alice-read", "alice-write", "bob-token", "carol-token"],
        3,
        1,
        "4",
        ["alice-read", "alice-write"],
    ]


def test_cache_key_and_the_kong_cache_pattern(lua):
    got = lua(
        """
      local loads = 0
      local function load(token)
        loads = loads + 1
        return kong.db.dao_tokens:select_by_token(token)
      end
      local key = kong.db.dao_tokens:cache_key("bob-token")
      local row, err, level = kong.cache:get(key, nil, load, "bob-token")
      local again, _, level2 = kong.cache:get(key, nil, load, "bob-token")
      local missing, _, level3 = kong.cache:get(kong.db.dao_tokens:cache_key("x"), nil, load, "x")
      return { key, kong.db.dao_tokens:cache_key(row), row.token, again.token, level, level2,
               missing == nil, level3, loads, kong.db.dao_tokens:select_by_cache_key("bob-token").token }
    """
    )
    key = f"dao_tokens:bob-token:::::{WS}"
    assert got == [key, key, "bob-token", "bob-token", 3, 1, True, 3, 2, "bob-token"]


def test_writes_fail_like_db_less_kong(lua):
    got = lua('local _, err = kong.db.dao_tokens:insert({ token = "new" }) return { err }')
    assert got == ["[off] cannot create 'dao_tokens' entities when not using a database"]


def test_a_keyed_style_daos_lua_serves_kong_db(tmp_path: Path):
    folder = tmp_path / "kong" / "plugins" / "keyed"
    folder.mkdir(parents=True)
    (folder / "handler.lua").write_text("return { PRIORITY = 1, VERSION = '1.0.0' }")
    (folder / "schema.lua").write_text(
        'return { name = "keyed", fields = { { config = { type = "record", fields = {} } } } }'
    )
    (folder / "daos.lua").write_text(
        'local typedefs = require "kong.db.schema.typedefs"\n'
        "return { keyed_codes = { primary_key = { 'id' }, cache_key = { 'code' }, workspaceable = false,\n"
        "  fields = { { id = typedefs.uuid }, { code = { type = 'string', unique = true, required = true } } } } }\n"
    )
    registry = build_registry(Settings(plugins_dirs=[str(tmp_path)], plugins=["off"]))
    config = load_data({"_format_version": "3.0", "keyed_codes": [{"code": "SPRING"}]}, registry)
    token = use_context(Context(snapshot=Snapshot(config, registry)))
    try:
        host = registry.lua
        got = host.to_python(
            host.compile_in(
                "keyed",
                "local c = kong.db.keyed_codes:select_by_code('SPRING')"
                " return { c.code, kong.db.keyed_codes:cache_key('SPRING') }",
            )()
        )
    finally:
        reset_context(token)
    assert got == ["SPRING", "keyed_codes:SPRING:::::"]  # not workspaceable: no workspace id
