"""kong.db for Lua plugins: Kong's DAO API, read-only, over the declarative configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host.config import load_data
from host.config.model import DeclarativeConfig
from host.config.snapshot import Snapshot
from host.context import Context, reset_context, use_context
from host.lua.runtime import LuaHost
from host.plugins.spec import PluginRegistry, PluginSpec
from pdk.phases import Phase
from tests.conftest import service
from tests.host.lua.test_smoke import LUA_PLUGINS

AUTH_PLUGINS = ("key-auth", "basic-auth", "acl", "jwt", "hmac-auth", "oauth2")
WS = "00000000-0000-0000-0000-000000000000"
CONFIG = {
    "_format_version": "3.0",
    "consumers": [
        {
            "username": "alice",
            "custom_id": "a-1",
            "tags": ["staff"],
            "keyauth_credentials": [{"key": "alice-key-1"}, {"key": "alice-key-2"}],
            "acls": [{"group": "admins"}, {"group": "users"}],
            "basicauth_credentials": [{"username": "alice-basic", "password": "secret"}],
        },
        {"username": "bob", "keyauth_credentials": [{"key": "bob-key"}]},
        {"custom_id": "carol-1"},
    ],
}


def auth_registry() -> PluginRegistry:
    """A registry where the auth plugins defining credential entities are enabled."""
    registry = PluginRegistry()
    for name in AUTH_PLUGINS:
        registry.add(
            PluginSpec(name=name, version="1.0.0", priority=1, language="lua", source="t", schema=None)
        )
    return registry


def snapshot_of(data: dict[str, Any]) -> Snapshot:
    registry = auth_registry()
    return Snapshot(load_data(data, registry, source="t.yml"), registry)


@pytest.fixture
def host() -> Iterator[LuaHost]:
    ctx = Context(snapshot=snapshot_of(CONFIG))
    ctx.phase = Phase.access
    token = use_context(ctx)
    yield LuaHost()
    reset_context(token)


def run(host: LuaHost, src: str, *args: Any) -> Any:
    return host.to_python(host.compile_in("t", src, "=t")(*args))


def lua_error(host: LuaHost, src: str) -> str:
    with pytest.raises(Exception) as exc:  # noqa: PT011 - lupa's LuaError
        host.compile_in("t", src, "=t")()
    return str(exc.value)


def test_select_by_unique_fields_and_primary_key(host):
    got = run(
        host,
        """
      local c = kong.db.consumers:select_by_username("alice")
      local same = kong.db.consumers:select({ id = c.id })
      local by_custom = kong.db.consumers:select_by_custom_id("a-1")
      return { c.username, c.custom_id, c.tags, same.id == c.id, by_custom.id == c.id,
               kong.db.consumers:select_by_username("nobody") == nil,
               kong.db.consumers:select({ id = "4b1b2ab5-0f2b-4a16-8f4c-2a4a4e1e0a11" }) == nil }
    """,
    )
    assert got == ["alice", "a-1", ["staff"], True, True, True, True]


def test_unset_fields_are_nil_unless_nulls_option(host):
    got = run(
        host,
        """
      local c = kong.db.consumers:select_by_custom_id("carol-1")
      local n = kong.db.consumers:select_by_custom_id("carol-1", { nulls = true })
      local w = kong.db.consumers:select_by_custom_id("carol-1", { show_ws_id = true })
      return { c.username == nil, c.tags == nil, n.username == ngx.null, n.tags == ngx.null, w.ws_id }
    """,
    )
    assert got == [True, True, True, True, WS]


def test_every_select_returns_a_fresh_copy(host):
    got = run(
        host,
        """
      local c = kong.db.consumers:select_by_username("alice")
      c.username = "mallory"
      c.tags[1] = "changed"
      local again = kong.db.consumers:select_by_username("alice")
      return { again.username, again.tags[1] }
    """,
    )
    assert got == ["alice", "staff"]


def test_credentials_and_foreign_keys(host):
    got = run(
        host,
        """
      local cred = kong.db.keyauth_credentials:select_by_key("alice-key-1")
      local alice = kong.db.consumers:select_by_username("alice")
      local basic = kong.db.basicauth_credentials:select_by_username("alice-basic")
      local keys = {}
      for row, err, page in kong.db.keyauth_credentials:each_for_consumer({ id = alice.id }) do
        keys[#keys + 1] = row.key
      end
      table.sort(keys)
      local rows, err, err_t, offset = kong.db.acls:page_for_consumer({ id = alice.id })
      local groups = {}
      for i, row in ipairs(rows) do groups[i] = row.group end
      table.sort(groups)
      return { cred.consumer.id == alice.id, type(cred.consumer), basic.password ~= "secret",
               keys, groups, offset == nil }
    """,
    )
    assert got == [True, "table", True, ["alice-key-1", "alice-key-2"], ["admins", "users"], True]


def test_bad_keys_give_kong_errors(host):
    got = run(
        host,
        """
      local _, err, err_t = kong.db.consumers:select({ id = "not-a-uuid" })
      local _, err2 = kong.db.consumers:select({})
      local _, err3, err_t3 = kong.db.consumers:select_by_username("")
      local _, err4 = kong.db.acls:page_for_consumer({ id = "x" })
      local ok5, err5 = kong.db.acls:each_for_consumer({ id = "x" })()
      return { err, err_t.code, err_t.name, err_t.strategy, err_t.fields.id, tostring(err_t), err2,
               err3, err_t3.name, err4, ok5, err5 }
    """,
    )
    assert got == [
        """[off] invalid primary key: '{id="expected a valid UUID"}'""",
        1,
        "invalid primary key",
        "off",
        "expected a valid UUID",
        """[off] invalid primary key: '{id="expected a valid UUID"}'""",
        """[off] invalid primary key: '{id="missing primary key"}'""",
        "[off] length must be at least 1",
        "invalid unique username",
        """[off] invalid primary key: '{id="expected a valid UUID"}'""",
        False,
        """[off] invalid primary key: '{id="expected a valid UUID"}'""",
    ]


def test_misuse_raises(host):
    assert "primary_key must be a table" in lua_error(host, "kong.db.consumers:select('x')")
    assert "username must be a string" in lua_error(host, "kong.db.consumers:select_by_username(1)")
    assert "options must be a table when specified" in lua_error(
        host, "kong.db.consumers:select_by_username('alice', 1)"
    )
    assert "foreign_key must be a table" in lua_error(host, "kong.db.acls:page_for_consumer('x')")
    assert "size must be a number" in lua_error(host, "kong.db.consumers:page('10')")
    assert "entity does not have a cache_key defined" in lua_error(
        host, "kong.db.consumers:select_by_cache_key('x')"
    )
    assert "key must be a string or an entity table" in lua_error(host, "kong.db.consumers:cache_key(1)")


def test_cache_keys_have_kongs_format(host):
    got = run(
        host,
        """
      local alice = kong.db.consumers:select_by_username("alice")
      local acl = kong.db.acls:select_by_cache_key(kong.db.acls:cache_key(alice.id, "admins"))
      return { kong.db.consumers:cache_key("abc"),
               kong.db.keyauth_credentials:cache_key("k"),
               kong.db.acls:cache_key({ consumer = { id = "c1" }, group = "g" }),
               kong.db.consumers:cache_key({ id = "c2" }),
               kong.db.plugins:cache_key({ name = "acl", route = { id = "r" } }),
               kong.db.consumers:cache_key("a", "b", nil, nil, nil, "ws"),
               kong.db.keyauth_credentials:select_by_cache_key("alice-key-2").key,
               acl.group }
    """,
    )
    assert got == [
        f"consumers:abc:::::{WS}",
        f"keyauth_credentials:k:::::{WS}",
        f"acls:c1:g::::{WS}",
        f"consumers:c2:::::{WS}",
        f"plugins:acl:r::::{WS}",
        "consumers:a:b::::ws",
        "alice-key-2",
        "admins",
    ]


def test_page_and_each(host):
    got = run(
        host,
        """
      local seen, offset, pages = {}, nil, 0
      repeat
        local rows, err, err_t, next_offset = kong.db.consumers:page(2, offset)
        pages = pages + 1
        for _, row in ipairs(rows) do seen[#seen + 1] = row.id end
        offset = next_offset
      until not offset
      local each, last_page = {}, 0
      for row, err, page in kong.db.consumers:each(1) do
        each[#each + 1] = row.id
        last_page = page
      end
      local _, err = kong.db.consumers:page(0)
      local _, err2 = kong.db.consumers:page(10, "garbage")
      return { #seen, pages, table.concat(seen, ",") == table.concat(each, ","), last_page, err, err2 }
    """,
    )
    assert got == [
        3,
        2,
        True,
        3,
        "[off] size must be an integer between 1 and 50000",
        "[off] 'garbage' is not a valid offset: bad offset string",
    ]


def test_writes_are_refused_like_db_less_kong(host):
    got = run(
        host,
        """
      local alice = kong.db.consumers:select_by_username("alice")
      local missing = { id = "4b1b2ab5-0f2b-4a16-8f4c-2a4a4e1e0a11" }
      local r = {}
      r[1] = select(2, kong.db.consumers:insert({ username = "dave" }))
      r[2] = select(2, kong.db.consumers:update({ id = alice.id }, { custom_id = "x" }))
      r[3] = select(2, kong.db.consumers:upsert({ id = alice.id }, { username = "alice" }))
      r[4] = select(2, kong.db.consumers:delete({ id = alice.id }))
      r[5] = kong.db.consumers:delete(missing)
      r[6] = select(2, kong.db.consumers:update(missing, {}))
      r[7] = select(2, kong.db.keyauth_credentials:delete_by_key("bob-key"))
      r[8] = kong.db.consumers:select_by_username("alice") ~= nil
      return r
    """,
    )
    assert got == [
        "[off] cannot create 'consumers' entities when not using a database",
        "[off] cannot update 'consumers' entities when not using a database",
        "[off] cannot create or update 'consumers' entities when not using a database",
        "[off] cannot remove 'consumers' entities when not using a database",
        True,
        """[off] could not find the entity with primary key '{id="4b1b2ab5-0f2b-4a16-8f4c-2a4a4e1e0a11"}'""",
        "[off] cannot remove 'keyauth_credentials' entities when not using a database",
        True,
    ]


def test_unknown_entities_are_nil(host):
    assert run(host, "return { kong.db.no_such_entity == nil, kong.db.strategy }") == [True, "off"]


def test_rows_follow_the_requests_snapshot(host):
    fn = host.compile_in("t", "return kong.db.consumers:select_by_username('bob') ~= nil", "=t")
    assert fn() is True
    ctx = Context(snapshot=snapshot_of({"_format_version": "3.0", "consumers": [{"username": "alice"}]}))
    token = use_context(ctx)
    try:
        assert fn() is False
    finally:
        reset_context(token)
    assert fn() is True


DAOS = """
local typedefs = require "kong.db.schema.typedefs"
return {
  {
    name = "vouchers",
    primary_key = { "id" },
    cache_key = { "code" },
    endpoint_key = "code",
    workspaceable = true,
    fields = {
      { id = typedefs.uuid },
      { consumer = { type = "foreign", reference = "consumers", required = true } },
      { code = { type = "string", required = true, unique = true } },
    },
  },
}
"""


def test_entities_from_a_plugins_daos_lua(tmp_path: Path):
    folder = tmp_path / "vouchers-plugin"
    folder.mkdir()
    (folder / "daos.lua").write_text(DAOS)
    consumer = "8c3c33c1-6d5b-4b8a-9a43-1c5fd3d2d9b1"
    voucher = {"id": "0f1c9d0e-7a6e-4b86-9d39-7c4b0ef1b6a2", "consumer": {"id": consumer}, "code": "SPRING"}
    config = DeclarativeConfig(source="t", credentials={"vouchers": [voucher]})
    token = use_context(Context(snapshot=Snapshot(config, PluginRegistry())))
    try:
        host = LuaHost()
        host.register_plugin_dir("vouchers-plugin", folder)
        got = run(
            host,
            f"""
          local v = kong.db.vouchers:select_by_code("SPRING")
          local rows = kong.db.vouchers:page_for_consumer({{ id = "{consumer}" }})
          return {{ v.id, v.consumer.id, #rows, kong.db.vouchers:cache_key("SPRING"),
                   kong.db.vouchers:select_by_cache_key("SPRING").code }}
        """,
        )
    finally:
        reset_context(token)
    assert got == [voucher["id"], consumer, 1, f"vouchers:SPRING:::::{WS}", "SPRING"]


async def test_db_auth_plugin_end_to_end(make_gateway, echo_upstream, http, tmp_path):
    """A key-auth/acl style Lua plugin authenticating through kong.db and kong.cache."""
    gw = await make_gateway(
        {
            "_format_version": "3.0",
            "services": [
                {
                    **service(echo_upstream),
                    "routes": [
                        {"name": "open", "paths": ["/open"], "plugins": [{"name": "db-auth"}]},
                        {
                            "name": "admin",
                            "paths": ["/admin"],
                            "plugins": [{"name": "db-auth", "config": {"allow": ["admins"]}}],
                        },
                    ],
                }
            ],
            "consumers": CONFIG["consumers"],
        },
        plugins_dirs=[LUA_PLUGINS, stub_auth_plugins(tmp_path)],
    )
    async with http.get(gw.url + "/open") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == "Key"
        assert (await resp.json())["message"] == "No API key found in request"
    async with http.get(gw.url + "/open", headers={"apikey": "wrong"}) as resp:
        assert resp.status == 401
        assert (await resp.json())["message"] == "Unauthorized"
    async with http.get(gw.url + "/open", headers={"apikey": "alice-key-1"}) as resp:
        assert resp.status == 200
        upstream = {k.lower(): v for k, v in (await resp.json())["headers"].items()}
        assert upstream["x-consumer-username"] == "alice"
        assert upstream["x-consumer-custom-id"] == "a-1"
        assert len(upstream["x-consumer-id"]) == 36
        assert len(upstream["x-credential-identifier"]) == 36
    async with http.get(gw.url + "/admin", headers={"apikey": "alice-key-2"}) as resp:
        assert resp.status == 200
        upstream = {k.lower(): v for k, v in (await resp.json())["headers"].items()}
        assert sorted(upstream["x-consumer-groups"].split(", ")) == ["admins", "users"]
    async with http.get(gw.url + "/admin", headers={"apikey": "bob-key"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["message"] == "You cannot consume this service"


def stub_auth_plugins(root: Path) -> Path:
    """Plugins named like Kong's key-auth, basic-auth and acl (they enable the credential entities)."""
    for name in ("key-auth", "basic-auth", "acl"):
        folder = root / "kong" / "plugins" / name
        folder.mkdir(parents=True)
        (folder / "handler.lua").write_text('return { PRIORITY = 1, VERSION = "1.0.0" }\n')
        (folder / "schema.lua").write_text(
            f'return {{ name = "{name}", fields = {{ {{ config = {{ type = "record", fields = {{}} }} }} }} }}\n'
        )
    return root
