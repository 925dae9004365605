"""Test plugin: a Python plugin reading what a Lua plugin left in kong.ctx.shared."""

PRIORITY = 1200
VERSION = "1.0.0"


def access(kong, conf):
    kong.service.request.set_header("X-Python-Saw", kong.ctx.shared.get("from_lua", "nothing"))
    table = kong.ctx.shared.get("lua_table")
    kong.service.request.set_header("X-Python-Saw-N", str(table["n"]) if table is not None else "none")
    kong.ctx.shared["from_peer"] = "python-peer"
