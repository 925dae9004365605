"""What sdk-docs/lua-guide.md shows, checked: the guide cannot drift from what Moongate does.

* its code blocks are the files of sdk-docs/examples/lua_plugins, and the reverse;
* its lists (modules, ``ngx`` fields, validators, entity checks, typedefs, load-time
  messages) are what exists, both ways, and every module and name resolves in a request;
* its examples behave as its tables say, through a real gateway in front of the echo
  upstream, and its transcripts are the commands' real output.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import shlex
import subprocess
import sys

import pytest
from _pytest.fixtures import FixtureFunctionDefinition

from host.gateway import build_registry
from host.lua import loader
from host.lua.loader import load_lua_plugin
from host.lua.modules._schema_typedefs import all_typedefs
from host.lua.runtime import MODULES_DIR, LuaHost
from host.plugins.spec import PluginLoadError
from host.schema.entity_checks import CHECKERS
from host.schema.validators import VALIDATORS
from host.settings import Settings
from tests.sdk_docs._support import EXAMPLES, REPO, example_config, fenced_blocks

LUA_GUIDE = REPO / "sdk-docs" / "lua-guide.md"
LUA_EXAMPLES = EXAMPLES / "lua_plugins"
GUIDE_REQUEST_ID = "4a3de9ba623e0ad0cba41f2411286572"
#: LuaJIT/OpenResty built-ins plugins may require (host/lua/lua/core.lua)
BUILTIN_MODULES = {"bit", "string.buffer", "table.clear", "table.new"}
#: names the guide says do not exist, or raise when read
ABSENT_NGX = {"ngx.location.capture"}
EMPTY_SCHEMA = 'return { name = "%s", fields = { { config = { type = "record", fields = {} } } } }'


def guide() -> str:
    return LUA_GUIDE.read_text(encoding="utf-8")


def section(number: int, after: str = "") -> str:
    """Section ``## <number>.`` (from the text ``after`` on, when given)."""
    match = re.search(rf"^## {number}\. .*?(?=^## |\Z)", guide(), re.M | re.S)
    assert match, f"section {number} not found"
    return match[0].split(after, 1)[1] if after else match[0]


def table_cells(text: str, column: int = 0) -> list[str]:
    """One column of the first Markdown table in ``text`` (header and rule rows left out)."""
    rows = re.search(r"^\|.*?(?=\n\n|\Z)", text, re.M | re.S)[0].splitlines()
    return [row.strip("|").split(" | ")[column].strip() for row in rows[2:]]


def files(pattern: str) -> list:
    return sorted(p for p in LUA_EXAMPLES.rglob(pattern) if "__pycache__" not in p.parts)


def text(path) -> str:
    return path.read_text(encoding="utf-8")


def write_plugin(root, name: str, handler: str, schema: str | None = None):
    folder = root / "kong" / "plugins" / name
    folder.mkdir(parents=True)
    (folder / "handler.lua").write_text(handler)
    if schema != "":
        (folder / "schema.lua").write_text(schema or EMPTY_SCHEMA % name)
    return folder


def load_error(tmp_path, handler: str, schema: str | None = None) -> str:
    folder = write_plugin(tmp_path, "bad", handler, schema)
    with pytest.raises(PluginLoadError) as info:
        load_lua_plugin(LuaHost(), "bad", folder)
    assert str(info.value).startswith(f"plugin 'bad' ({folder}/")
    return str(info.value)


# -- the guide quotes its examples --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "pattern"), [("lua", "*.lua"), ("python", "*.py"), ("yaml", "*.yml"), ("console", "*.console")]
)
def test_code_blocks_are_exactly_the_example_files(lang, pattern):
    assert sorted(fenced_blocks(guide(), lang)) == sorted(text(p) for p in files(pattern))


def test_only_checked_languages_are_fenced():
    langs = set(re.findall(r"^```([a-z]+)$", guide(), re.M))
    assert langs <= {"lua", "python", "yaml", "console", "text", "http"}


def test_layout_block_lists_the_example_files():
    layout = fenced_blocks(section(1), "text")[0].splitlines()
    assert layout[0] == "lua_plugins/"
    listed = {line.strip() for line in layout[1:]}
    assert all((LUA_EXAMPLES / name).is_file() for name in listed)
    examples = files("*.lua") + files("*.py") + files("*.yml")
    assert {str(p.relative_to(LUA_EXAMPLES)) for p in examples} == listed


def test_links_and_anchors_resolve():
    for link in re.findall(r"\]\(([^)\s]+)\)", guide()):
        target, _, anchor = link.partition("#")
        path = (LUA_GUIDE.parent / target) if target else LUA_GUIDE
        assert path.exists(), f"broken link: {link}"
        if anchor and path.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", text(path), re.M)
            slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
            assert anchor in slugs, f"broken anchor: {link}"


def test_python_guide_and_readme_point_here():
    assert "(lua-guide.md)" in text(REPO / "sdk-docs" / "guide.md").split("\n\n")[1]
    assert "`sdk-docs/lua-guide.md`" in text(REPO / "README.md")


# -- the guide's lists are what exists ----------------------------------------------------------


def listed_modules() -> list[str]:
    return [re.fullmatch(r"`([\w.-]+)`", cell)[1] for cell in table_cells(section(5, "### Modules"))]


def test_every_module_is_listed_and_every_listed_module_exists():
    provided = {p.stem for p in MODULES_DIR.glob("*.lua") if not p.stem.startswith("moongate.")}
    assert listed_modules() == sorted(listed_modules()), "keep the module table sorted"
    assert set(listed_modules()) == provided | BUILTIN_MODULES


def test_modules_said_missing_are_missing():
    paragraph = section(5, "Modules Kong's bundled plugins use").split("\n\n")[0]
    names = [n.replace("*", "mac") for n in re.findall(r"`([\w.*]+)`", paragraph)]
    assert {"ffi", "pb", "resty.openssl.x509"} <= set(names)
    host = LuaHost()
    for name in names:
        with pytest.raises(Exception, match=f"module '{re.escape(name)}' not found"):
            host.compile_in("t", f"return require '{name}'")()


@pytest.mark.parametrize(
    ("label", "names"),
    [("Validators", VALIDATORS), ("Entity checks", CHECKERS), ("Typedefs", all_typedefs())],
)
def test_schema_lists_are_the_engines(label, names):
    paragraph = section(3, f"**{label}**").split("\n\n", 1)[0]
    assert set(re.findall(r"`(\w+)`", paragraph.split(":", 1)[1])) == set(names)


def ngx_names() -> set[str]:
    """Every ``ngx.x`` / ``ngx.x.y`` field the guide names (not modules such as ``ngx.base64``;
    not ngx.ctx's keys, which depend on the request)."""
    names = set(re.findall(r"`(ngx(?:\.[a-z0-9_]+)+)\b", guide())) - ABSENT_NGX
    return {name for name in names if not name.startswith("ngx.ctx.")} - set(listed_modules())


def test_every_ngx_field_is_listed():
    keys = LuaHost().compile("local t = {} for k in pairs(H.ngx) do t[#t + 1] = k end return t")()
    fields = {k.decode() for k in keys.values() if not k.decode().isupper()}
    assert fields - {name.split(".")[1] for name in ngx_names()} == set()
    for constant in ("ngx.OK", "ngx.ERR", "ngx.HTTP_OK", "ngx.HTTP_GET"):
        assert f"`{constant}`" in section(5)


# -- loading: layout, checks, messages, the sandbox ---------------------------------------------


def test_layouts_modules_and_names(tmp_path):
    write_plugin(tmp_path, "twice", "return { PRIORITY = 1, VERSION = '1.0.0', from = 'tree' }")
    (tmp_path / "twice").mkdir()  # the flat layout, same name: kong/plugins/ wins
    (tmp_path / "twice" / "handler.lua").write_text(
        "return { PRIORITY = 1, VERSION = '1.0.0', from = 'flat' }"
    )
    (tmp_path / "twice" / "schema.lua").write_text(EMPTY_SCHEMA % "twice")
    (tmp_path / "flat" / "util").mkdir(parents=True)
    (tmp_path / "flat" / "schema.lua").write_text(EMPTY_SCHEMA % "flat")
    (tmp_path / "flat" / "handler.lua").write_text(
        "local util = require 'kong.plugins.flat.util'\n"
        "return { PRIORITY = 1, VERSION = '1.0.0', deep = require 'kong.plugins.flat.util.deep',\n"
        "         once = util == require 'kong.plugins.flat.util' }"
    )
    (tmp_path / "flat" / "util" / "init.lua").write_text("return {}")
    (tmp_path / "flat" / "util" / "deep.lua").write_text("return 'deep'")
    write_plugin(tmp_path, "both-languages", "return { PRIORITY = 1, VERSION = '1.0.0' }")
    write_plugin(
        tmp_path, "typo", "local T = { PRIORITY = 1, VERSION = '1.0.0' }\nfunction T:acess() end\nreturn T"
    )
    (tmp_path / "both_languages.py").write_text("PRIORITY = 1\nVERSION = '1.0.0'\n")
    registry = build_registry(Settings(plugins_dirs=[str(tmp_path)]))
    assert registry.get("twice").extra["handler"][b"from"] == b"tree"
    flat = registry.get("flat").extra["handler"]
    assert (flat[b"deep"], flat[b"once"]) == (b"deep", True)
    assert registry.get("both-languages").language == "python"
    assert registry.get("typo").phases == ()  # a misspelled phase method is ignored, as in Kong
    assert "a plugin with this name is already loaded from" in registry.failures["both-languages"]


def test_bundled_lua_plugins_come_first_and_can_be_left_out(tmp_path, monkeypatch):
    assert loader.BUNDLED_DIR == REPO / "lua_plugins"  # the guide's "repository's `lua_plugins/`"
    bundled, mine = tmp_path / "bundled", tmp_path / "mine"
    write_plugin(bundled, "same-name", "return { PRIORITY = 1, VERSION = '1.0.0' }")
    write_plugin(mine, "same-name", "return { PRIORITY = 2, VERSION = '1.0.0' }")
    monkeypatch.setattr(loader, "BUNDLED_DIR", bundled)
    assert build_registry(Settings(plugins_dirs=[str(mine)])).get("same-name").priority == 1
    assert build_registry(Settings(plugins_dirs=[str(mine)], plugins=["off"])).get("same-name").priority == 2


def load_time_cases() -> list[tuple[str, str | None, str]]:
    """(handler.lua, schema.lua, the message shown), one per row of the guide's table."""
    rows = table_cells(section(2, "### Checks at load time"), column=1)
    sources = [
        ("return { PRIORITY = 1.5, VERSION = '1.0.0' }", None),
        ("return { PRIORITY = 1, VERSION = 'one' }", None),
        ("return { PRIORITY = 1, VERSION = '1.0.0', response = print, header_filter = print }", None),
        ("return 42", None),
        ("return { PRIORITY = 1, VERSION = '1.0.0' }", ""),
        ("local x = = 1", None),
        ("local pb = require 'pb'\nreturn { PRIORITY = 1, VERSION = '1.0.0' }", None),
    ]
    assert len(rows) == len(sources)
    return [(h, s, re.match(r"[^`]*`([^`]+)`", row)[1]) for (h, s), row in zip(sources, rows, strict=True)]


@pytest.mark.parametrize(("handler", "schema", "message"), load_time_cases())
def test_load_time_checks_give_the_messages_shown(tmp_path, handler, schema, message):
    assert message in load_error(tmp_path, handler, schema)


def test_schema_errors_give_the_messages_shown(tmp_path):
    shown = re.findall(r"`([^`]+)`", section(3, "A schema that is itself wrong").split("\n\n")[0])[-3:]
    record = 'return { name = "bad", fields = { { config = { type = "record", fields = { { x = %s } } } } } }'
    handler = "return { PRIORITY = 1, VERSION = '1.0.0' }"
    bad_fields = ["{ default = 1 }", '{ type = "string", lenght_min = 1 }']
    for i, (field, message) in enumerate(zip(bad_fields, shown, strict=False)):
        assert message in load_error(tmp_path / str(i), handler, record % field)
    typo = 'local typedefs = require "kong.db.schema.typedefs"\n' + record % "typedefs.hedaer_name"
    assert shown[2] in load_error(tmp_path / "typo", handler, typo)


def test_require_error_is_the_one_shown(tmp_path):
    handler = '-- needs-pb\nlocal pb = require "pb"\nreturn {}\n'
    folder = write_plugin(tmp_path, "needs-pb", handler)
    with pytest.raises(PluginLoadError) as info:
        load_lua_plugin(LuaHost(), "needs-pb", folder)
    (shown,) = fenced_blocks(section(5, "### Requiring something else"), "text")
    assert str(info.value) == shown.strip().replace("/srv/plugins", str(tmp_path))


def test_custom_validator_error(tmp_path):
    schema = (
        EMPTY_SCHEMA.replace(
            "fields = {}",
            'fields = { { x = { type = "string", custom_validator = function() error("boom") end } } }',
        )
        % "cv"
    )
    spec = load_lua_plugin(
        LuaHost(), "cv", write_plugin(tmp_path, "cv", "return { PRIORITY = 1, VERSION = '1' }", schema)
    )
    errors = spec.schema.validate({"config": {"x": "v"}})[1]
    assert errors["config"]["x"].startswith("custom validator failed: ")
    assert errors["config"]["x"].endswith("schema.lua:1: boom")


def test_sandbox_leaves_out_what_the_guide_says():
    absent = re.findall(r"`([\w.]+)`", section(8, "**A sandbox.**").split("There is no")[1].split(";")[0])
    assert {"io.popen", "io.write", "os.execute", "debug", "package"} <= set(absent)
    checks = f"({' or '.join(absent)}) == nil, getmetatable('') == nil, load('\\27LJ') == nil"
    assert LuaHost().compile_in("t", f"return {checks}")() == (True, True, True)


def test_each_plugin_has_its_own_globals_and_each_worker_its_own_shared_dicts():
    host, other_worker = LuaHost(), LuaHost()
    host.compile_in("a", "GREETING = 'a'; string.upper = nil; ngx.shared.kong:set('hits', 1)")()
    assert host.compile_in("b", "return GREETING, string.upper('x'), ngx.shared.kong:get('hits')")() == (
        None,
        b"X",
        1,
    )
    assert other_worker.compile_in("b", "return ngx.shared.kong:get('hits')")() is None


def test_waiting_at_load_time_raises():
    message = " ".join(section(6, "**No waiting outside a handler.**").split("`")[3].split())
    with pytest.raises(Exception, match=re.escape(message)):
        LuaHost().compile_in("t", "ngx.sleep(0.01)")()


# -- a probe plugin checks names, modules and snippets inside a real request ----------------------

PROBE = """
local Probe = { PRIORITY = 1, VERSION = "1.0.0" }
function Probe:init_worker() ngx.sleep(0) self.started = kong.ctx.shared == nil and kong.ctx.plugin == nil end
function Probe:configure(configs) self.configs = #configs end
local function lookup(path)
  local value = _G
  for part in path:gmatch("[^.]+") do value = value[part] end
  return value
end
function Probe:access(conf)
  local problems = {}
  for _, name in ipairs(conf.names or {}) do
    local ok, value = pcall(lookup, name)
    if not ok or value == nil then problems[#problems + 1] = name end
  end
  for _, name in ipairs(conf.modules or {}) do
    if not pcall(require, name) then problems[#problems + 1] = name end
  end
  local result = conf.snippet and assert(load(conf.snippet, "=snippet"))(conf, self)
  return kong.response.exit(200, { problems = #problems > 0 and problems or nil, result = result })
end
function Probe:header_filter(conf)
  if conf.filter_snippet then assert(load(conf.filter_snippet, "=snippet"))() end
end
return Probe
"""
PROBE_SCHEMA = """return { name = "probe", fields = { { config = { type = "record", fields = {
  { names = { type = "array", elements = { type = "string" } } },
  { modules = { type = "array", elements = { type = "string" } } },
  { snippet = { type = "string" } }, { filter_snippet = { type = "string" } } } } } } }"""


@pytest.fixture
async def probe(make_gateway, echo_upstream, http, tmp_path):
    """``await probe(**config)``: one request through the probe plugin: status, JSON body, headers."""
    write_plugin(tmp_path, "probe", PROBE, PROBE_SCHEMA)
    (tmp_path / "py_writer.py").write_text(
        "PRIORITY = 5\nVERSION = '1.0.0'\n\ndef access(kong, conf):\n    kong.ctx.shared['data'] = {'n': 1}\n"
    )

    async def run(paths=("/shop?page=2",), on_route=False, **conf):
        """The answer to the last path; with ``on_route`` /shop has a configuration of its own."""
        routes = [
            {"paths": ["/"]},
            {"paths": ["/shop"], "plugins": [{"name": "probe", "config": conf}][:on_route]},
        ]
        cfg = {
            "_format_version": "3.0",
            "services": [{"name": "s", "url": echo_upstream.url, "routes": routes}],
            "consumers": [{"username": "alice"}],
            "plugins": [{"name": "py-writer"}, {"name": "probe", "config": conf}],
        }
        gateway = await make_gateway(cfg, plugins_dirs=[tmp_path])
        for path in paths:
            async with http.get(gateway.url + path, headers={"X-Tenant": "acme"}) as resp:
                answer = resp.status, await resp.json(), resp.headers
        return answer

    return run


async def test_handler_contract(probe):
    snippet = """local conf, self = ...
    self.calls = (self.calls or 0) + 1
    local keys = {}
    for k in pairs(conf) do if k:sub(1, 1) == "_" or k:find("_id$") then keys[#keys + 1] = k end end
    table.sort(keys)
    return table.concat(keys, ",") .. " " .. table.concat({ tostring(self.started), self.configs, self.calls }, " ")"""
    # one handler table for both configurations: init_worker and configure ran on it, calls add up
    _, body, _ = await probe(paths=["/shop"], on_route=True, snippet=snippet)
    assert body["result"] == "__key__,__plugin_id,route_id true 2 1"
    _, body, _ = await probe(paths=["/shop", "/other"], on_route=True, snippet=snippet)
    assert body["result"] == "__key__,__plugin_id true 2 2"


async def test_listed_modules_and_ngx_names_resolve_in_a_request(probe):
    assert (await probe(names=sorted(ngx_names()), modules=listed_modules()))[:2] == (200, {})


async def test_what_the_guide_says_is_absent_is_absent(probe):
    _, body, _ = await probe(names=sorted(ABSENT_NGX))
    assert sorted(body["problems"]) == sorted(ABSENT_NGX)


#: for the snippets of section 4 that define a local: what it must hold in the probe's request
SNIPPET_CHECKS = {
    "tenant": "assert(tenant == 'acme')",
    "page": "assert(page == '2')",
    "ok": "assert(ok == nil and err == \"could not find an Upstream named 'orders'\")",
    "consumer": "assert(consumer.username == 'alice' and err == nil)",
}


def pdk_snippets() -> list[str]:
    return [re.match(r"`([^`]+)`", cell)[1] for cell in table_cells(section(4, "| Python | Lua |"), 1)]


@pytest.mark.parametrize("snippet", pdk_snippets())
async def test_pdk_table_snippets_run_in_access(probe, snippet):
    local = re.match(r"local (\w+)", snippet)
    status, body, _ = await probe(snippet=f"{snippet}\n{SNIPPET_CHECKS[local[1]] if local else ''}")
    if "kong.response.exit" in snippet:
        assert (status, body) == (403, {"message": "Forbidden"})
    else:
        assert (status, body) == (200, {})


@pytest.mark.parametrize(
    "snippet",
    [
        # section 4: misuse raises; header tables are case-insensitive; Python data is copied
        "local ok, err = pcall(kong.request.get_header, 1) assert(err:find('header name must be a string'))"
        " ok, err = pcall(kong.response.get_raw_body)"
        " assert(err:find('function cannot be called in access phase (only in: body_filter)', 1, true))",
        "local h = kong.request.get_headers() assert(h['X-Tenant'] == 'acme' and h.x_tenant == 'acme')",
        "local d = kong.ctx.shared.data d.n = 2 assert(kong.ctx.shared.data.n == 1)",
        # section 5: ngx and kong fields
        "assert(ngx.ctx.route.id and ngx.ctx.service.name == 's' and ngx.is_subrequest == false)"
        " assert(require('cjson').decode('[null]')[1] == ngx.null and require('cjson').null == ngx.null)",
        "assert(kong.db.consumers:select_by_username('alice').username == 'alice')"
        " assert(not pcall(function() kong.configuration.x = 1 end))",
        # section 6: what waits without blocking
        "assert(kong.cache:get('k', nil, function() ngx.sleep(0.01) return 'v' end) == 'v')",
        "require('kong.tools.yield').yield() require('resty.http').new():set_timeouts(100, 100, 100)",
        "ngx.shared.kong:set('t', 'pending') assert(ngx.timer.at(0, function(premature)"
        " ngx.sleep(0.01) ngx.shared.kong:set('t', 'ran') end))"
        " assert(ngx.shared.kong:get('t') == 'pending') ngx.sleep(0.1) assert(ngx.shared.kong:get('t') == 'ran')",
        # section 8: the body is read before the plugins; HTTP only
        "ngx.req.read_body() assert(ngx.req.get_body_file() == nil)"
        " assert(not pcall(ngx.req.set_body_file, 'f') and not pcall(ngx.req.socket))",
        "assert(ngx.config.subsystem == 'http')",
    ],
)
async def test_guide_statements_hold_in_a_request(probe, snippet):
    assert (await probe(snippet=snippet))[:2] == (200, {})


async def test_waiting_in_header_filter_raises_as_in_openresty(probe):
    _, _, headers = await probe(filter_snippet="ngx.header['X-Err'] = select(2, pcall(ngx.sleep, 0))")
    assert headers["X-Err"].endswith("API disabled in the context of header_filter_by_lua*")
    assert "`API disabled in the context of header_filter_by_lua*`" in section(6)


async def test_an_error_in_header_filter_is_contained(probe):
    status, body, _ = await probe(filter_snippet="error('boom')")
    assert (status, body["message"]) == (500, "An unexpected error occurred")


async def test_print_and_error_with_a_table(probe, caplog):
    caplog.set_level(logging.INFO)
    snippet = "print('from print') kong.log('n=', 1, ' ', true) error({ message = 'a table error' })"
    status, body, _ = await probe(snippet=snippet)
    assert status == 500 and body["message"] == "An unexpected error occurred"
    logged = [(r.getMessage(), r.levelno) for r in caplog.records if r.name == "moongate.plugin"]
    assert logged == [("[probe] from print", 25), ("[probe] n=1 true", 25)]  # 25: notice
    assert "a table error" in caplog.text


# -- the example plugins, through real requests ----------------------------------------------------


def header_cells(cell: str) -> dict[str, str]:
    return dict(re.findall(r"`([\w-]+): ([^`]+)`", cell))


def tenant_rows() -> list[tuple[str, ...]]:
    table = section(4, "Both plugins enabled globally")
    return list(zip(*(table_cells(table, column) for column in range(3)), strict=True))


@pytest.mark.parametrize(("request_cell", "upstream_cell", "client_cell"), tenant_rows())
async def test_tenant_table(make_gateway, echo_upstream, http, request_cell, upstream_cell, client_cell):
    cfg = example_config("lua_plugins/kong.yml", echo_upstream.url)
    gateway = await make_gateway(cfg, plugins_dirs=[LUA_EXAMPLES])
    path = re.match(r"`GET ([^`]+)`", request_cell)[1]
    async with http.get(gateway.url + path, headers=header_cells(request_cell)) as resp:
        status = int(re.match(r"\d+", client_cell)[0])
        assert resp.status == status
        assert {name: resp.headers.get(name) for name in header_cells(client_cell)} == header_cells(
            client_cell
        )
        assert not [name for name in re.findall(r"no `([\w-]+)`", client_cell) if name in resp.headers]
        body = await resp.json()
    if status == 200:
        assert {name: body["headers"].get(name) for name in header_cells(upstream_cell)} == header_cells(
            upstream_cell
        )
    else:
        assert f"`{body}`".replace("'", '"') in client_cell


def test_remote_auth_table_is_what_its_tests_check():
    shown = section(6, "| The auth service |").split("\n\n")[0]
    (refusals,) = EXAMPLE_TESTS["test_remote_auth_lua"].test_refusals.pytestmark
    for _, _, status, body in refusals.args[1]:
        assert f"{status} `{body}`".replace("'", '"') in shown
    assert "`X-Authenticated-User: alice`" in shown
    assert "ten requests whose auth calls take 300 ms each" in section(6)
    assert "`connection refused`" in section(6) and "`timeout`" in section(6)


async def test_failing_plugin_gives_the_500_and_log_line_shown(make_gateway, echo_upstream, http, caplog):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")
    cfg = example_config("lua_plugins/kong.yml", echo_upstream.url)
    cfg["services"][0]["routes"][0]["plugins"].append({"name": "shout"})
    gateway = await make_gateway(cfg, plugins_dirs=[LUA_EXAMPLES])
    async with http.get(gateway.url + "/shop/cart") as resp:
        got = (f"HTTP/1.1 {resp.status} {resp.reason}", f"Content-Type: {resp.headers['Content-Type']}")
        body, request_id = await resp.text(), resp.headers["X-Kong-Request-Id"]
    head, _, shown_body = fenced_blocks(section(7), "http")[0].partition("\n\n")
    assert got == tuple(head.splitlines())
    assert body == shown_body.rstrip("\n").replace(GUIDE_REQUEST_ID, request_id)
    (record,) = [r for r in caplog.records if "shout" in r.getMessage()]
    # Lua shortens long chunk names ("...les/lua_plugins/kong/plugins/..."): compare from kong/
    logged = re.sub(r"\S+/(?=kong/plugins/shout/)", "/srv/plugins/", record.getMessage()).splitlines()
    for line in fenced_blocks(section(7), "text")[0].replace(GUIDE_REQUEST_ID, request_id).splitlines():
        assert line in logged
    async with http.get(gateway.url + "/shop/cart", headers={"X-User": "alice"}) as resp:
        assert (await resp.json())["headers"]["X-User-Shouted"] == "ALICE!"  # the worker keeps serving


# -- transcripts and the example test file ---------------------------------------------------------


def transcript(name: str) -> list[tuple[list[str], list[str]]]:
    runs: list[tuple[list[str], list[str]]] = []
    for line in text(LUA_EXAMPLES / name).splitlines():
        if line.startswith("$ "):
            runs.append((shlex.split(line[2:]), []))
        else:
            runs[-1][1].append(line)
    return runs


def run_moongate(args: list[str]) -> tuple[int, list[str]]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    code = "import sys; from host.cli import main; sys.argv[0] = 'moongate'; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=LUA_EXAMPLES,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout.splitlines()


def test_config_validate_transcript():
    for command, expected in transcript("config-validate.console"):
        assert run_moongate(command[1:]) == ((1 if "invalid.yml" in command else 0), expected)


def test_plugins_list_transcript():
    ((command, expected),) = transcript("plugins-list.console")
    code, output = run_moongate(command[1:])
    # bundled plugins are listed too (their longer names widen the columns): the
    # examples' rows appear in this order, with these cells
    cells = [line.split() for line in output]
    assert code == 0 and cells[0] == expected[0].split()
    assert [row for row in cells if row in [e.split() for e in expected]] == [e.split() for e in expected]


def _import(path):
    spec = importlib.util.spec_from_file_location(f"lua_guide_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the example test files of section 9, run here with the fixtures of tests/conftest.py
EXAMPLE_TESTS = {path.stem: _import(path) for path in files("test_*.py")}
for _stem, _module in EXAMPLE_TESTS.items():
    for _name, _value in vars(_module).items():
        if _name.startswith("test_"):
            globals()[f"test_example_{_stem.removeprefix('test_')}__{_name.removeprefix('test_')}"] = _value
        elif isinstance(_value, FixtureFunctionDefinition):
            assert _name not in globals(), f"example fixture {_name} shadows a name here"
            globals()[_name] = _value


def test_the_example_tests_are_collected():
    names = [name for module in EXAMPLE_TESTS.values() for name in vars(module) if name.startswith("test_")]
    assert len([name for name in globals() if name.startswith("test_example_")]) == len(names) >= 7
