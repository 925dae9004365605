"""kong.ctx.shared between plugins in different Lua runtimes (trusted and sandboxed)."""

from __future__ import annotations

from tests.conftest import service

WRITER = """
local W = { PRIORITY = 2000, VERSION = "1.0.0" }
function W:access(conf)
  kong.ctx.shared.who = { user = "ann", roles = { "admin", "dev" } }
  kong.ctx.shared.n = 7
end
return W
"""

READER = """
local R = { PRIORITY = 1000, VERSION = "1.0.0" }
function R:access(conf)
  local who = kong.ctx.shared.who
  kong.response.set_header("x-who", who.user .. "/" .. who.roles[2] .. "/" .. kong.ctx.shared.n)
  kong.ctx.shared.back = { seen = true }
end
return R
"""

LAST = """
local L = { PRIORITY = 10, VERSION = "1.0.0" }
function L:access(conf)
  kong.response.set_header("x-back", tostring(kong.ctx.shared.back.seen))
end
return L
"""

SCHEMA = 'return { name = "%s", fields = { { config = { type = "record", fields = {} } } } }'


def write(root, name, handler):
    folder = root / name
    folder.mkdir()
    (folder / "handler.lua").write_text(handler)
    (folder / "schema.lua").write_text(SCHEMA % name)


async def test_tables_cross_from_trusted_to_sandboxed_and_back(make_gateway, echo_upstream, http, tmp_path):
    write(tmp_path, "shared-writer", WRITER)
    write(tmp_path, "shared-reader", READER)
    write(tmp_path, "shared-last", LAST)
    config = {
        "_format_version": "3.0",
        "services": [service(echo_upstream, routes=[{"paths": ["/"]}])],
        "plugins": [{"name": "shared-writer"}, {"name": "shared-reader"}, {"name": "shared-last"}],
    }
    gw = await make_gateway(config, plugins_dirs=[tmp_path], plugin_trust={"shared-reader": "sandboxed"})
    assert gw.gateway.registry.get("shared-reader").extra["trust"] == "sandboxed"
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200
        assert resp.headers["x-who"] == "ann/dev/7"  # a copy of the trusted runtime's table
        assert resp.headers["x-back"] == "true"  # and the sandboxed runtime's table read back
