"""Custom DAO classes: a ``daos.lua`` entity naming ``dao = "kong.plugins.<name>.<module>"``.

``compat-dao`` (tests/lua_plugins/kong/plugins/compat-dao/) looks up the consumer's pass
with a method of its own DAO module that calls the generic DAO through ``self.super``
(``page_for_consumer``, ``each_for_consumer``, ``cache_key``, ``select``) and builds a
not-found error with ``self.errors``, as community plugins such as upstream-basic-auth do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service
from tests.host.lua.test_smoke import LUA_PLUGINS

FIRST, SECOND = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
MISSING = "00000000-0000-4000-8000-000000000000"


def config(upstream: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"name": "r", "paths": ["/"]}]}],
        "plugins": [{"name": "key-auth"}, {"name": "compat-dao"}],
        "consumers": [
            {
                "username": "alice",
                "keyauth_credentials": [{"key": "alice-key"}],
                "compat_dao_passes": [{"label": "gold"}],
                "compat_dao_notes": [{"text": "hi"}, {"text": "there"}],
            },
            {
                "username": "bob",
                "keyauth_credentials": [{"key": "bob-key"}],
                "compat_dao_passes": [{"id": SECOND, "label": "second"}, {"id": FIRST, "label": "first"}],
            },
            {"username": "carol", "keyauth_credentials": [{"key": "carol-key"}]},
        ],
    }


@pytest.fixture
async def gateway(make_gateway, echo_upstream):
    return await make_gateway(config(echo_upstream), plugins_dirs=[LUA_PLUGINS])


async def call(http: Any, url: str, **headers: str) -> tuple[int, dict[str, Any]]:
    async with http.get(url, headers=headers) as resp:
        return resp.status, await resp.json()


def consumer_id(gateway: Any, username: str) -> str:
    (consumer,) = [c for c in gateway.gateway.snapshot.config.consumers if c["username"] == username]
    return consumer["id"]


async def test_custom_methods_reach_the_generic_dao_through_super(gateway, http):
    status, body = await call(http, gateway.url + "/x", apikey="alice-key")
    assert status == 200
    up = {k.lower(): v for k, v in body["headers"].items()}
    key = f"compat_dao_passes:{consumer_id(gateway, 'alice')}:::::"  # not workspaceable: no ws id
    assert (up["x-pass-label"], up["x-pass-count"], up["x-pass-select"]) == ("gold", "1", "gold")
    assert up["x-pass-key"] == key  # the custom cache_key over super.cache_key
    assert up["x-pass-key-from-entity"] == key  # ... given the entity itself
    assert up["x-pass-missing"] == f"[off] could not find the entity with primary key '{{id=\"{MISSING}\"}}'"
    # the entity without a dao module keeps the generic DAO only
    assert (up["x-notes-custom"], up["x-notes-count"]) == ("false", "2")


async def test_the_first_page_decides_between_several_rows(gateway, http):
    status, body = await call(http, gateway.url + "/x", apikey="bob-key")
    up = {k.lower(): v for k, v in body["headers"].items()}
    assert status == 200 and (up["x-pass-label"], up["x-pass-count"]) == ("first", "2")


async def test_a_consumer_without_a_row_is_refused(gateway, http):
    assert await call(http, gateway.url + "/x", apikey="carol-key") == (
        403,
        {"message": "no pass for consumer"},
    )


async def test_a_missing_dao_module_is_an_error_naming_it(make_gateway, echo_upstream, http, tmp_path: Path):
    folder = tmp_path / "kong" / "plugins" / "bad-dao"
    folder.mkdir(parents=True)
    (folder / "schema.lua").write_text(
        'return { name = "bad-dao", fields = { { config = { type = "record", fields = {} } } } }'
    )
    (folder / "daos.lua").write_text(
        'return { bad_dao_things = { name = "bad_dao_things", primary_key = { "id" },\n'
        '  dao = "kong.plugins.bad-dao.nope", fields = { { id = { type = "string", uuid = true } } } } }'
    )
    (folder / "handler.lua").write_text(
        "local H = { PRIORITY = 1, VERSION = '1.0.0' }\n"
        "function H:access() local ok, err = pcall(function() return kong.db.bad_dao_things end)\n"
        "  return kong.response.exit(500, { ok = ok, err = err }) end\n"
        "return H"
    )
    cfg = {
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "bad-dao"}],
    }
    gw = await make_gateway(cfg, plugins_dirs=[tmp_path])
    status, body = await call(http, gw.url + "/")
    assert status == 500 and body["ok"] is False
    assert body["err"].startswith(
        "kong.db.bad_dao_things: cannot load its dao module 'kong.plugins.bad-dao.nope': "
    )
    assert "module 'kong.plugins.bad-dao.nope' not found" in body["err"]


def test_the_errors_object_builds_kongs_err_t() -> None:
    from host.lua.runtime import LuaHost

    host = LuaHost()
    got = host.to_python(
        host.compile_in(
            "t",
            """
      local errors = kong.db.consumers.errors
      local one = errors:schema_violation({ username = "required field missing" })
      local many = errors:schema_violation({ ["@entity"] = { "bad" }, config = { a = "x", b = "y" } })
      local unique = errors:unique_violation({ username = "alice" })
      local db = errors:database_error()
      local lazy = errors:foreign_keys_unresolved()
      return { tostring(one), one.code, one.name, one.fields.username, tostring(many), tostring(unique),
               unique.code, tostring(db), lazy.code, lazy.name, errors.codes.NOT_FOUND,
               pcall(errors.not_found, errors, "x") }
    """,
            "=t",
        )()
    )
    assert got == [
        "[off] schema violation (username: required field missing)",
        2,
        "schema violation",
        "required field missing",
        "[off] 3 schema violations (bad; config.a: x; config.b: y)",
        "[off] UNIQUE violation detected on '{username=\"alice\"}'",
        5,
        "[off] database error",
        13,
        "foreign keys unresolved",
        6,
        False,
        "primary_key must be a table",
    ]
