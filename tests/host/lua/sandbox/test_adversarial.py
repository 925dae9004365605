"""Hostile Lua against a real gateway: every row is one hostile snippet.

One gateway process (``moongate start``) serves a route per row: the snippet runs as
a ``pre-function`` code string (``untrusted_lua = sandbox``, the default) or as the
access handler of a sandboxed plugin found in ``untrusted_plugins_dirs``.  For each
row the test sends the hostile request and asserts the exact outcome, then that a
request to another route still succeeds and that the gateway is the same process.

Outcomes: ``Fail(reason)``: the client gets exactly the generic 500 (no Lua or Python
text), and the gateway logs one line naming the plugin, phase, route, request id and
reason; ``Ok(check)``: a 200 whose body or headers show the attack had no effect.
Rows follow lua-sandbox.md section 9 (``s9-<n>``) and add Moongate's own.
"""

from __future__ import annotations

import http.client
import os
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.host.lua.sandbox._gateway import GatewayProcess, Response, Upstream

GENERIC = {"message": "An unexpected error occurred"}
LOOP = "while true do end"
MARK = "/tmp/moongate-sandbox-pwned"


@dataclass(frozen=True)
class Fail:
    reason: str
    phase: str = "access"


@dataclass(frozen=True)
class Ok:
    check: Callable[[Response], bool]
    what: str = ""


@dataclass(frozen=True)
class Row:
    id: str
    code: str
    expect: Fail | Ok
    plugin: bool = False  # run as a sandboxed plugin's access handler instead of pre-function
    method: str = "GET"
    body: bytes | None = None
    setup: tuple[str, ...] = field(default=())  # rows whose route is requested first


def header(name: str, value: str) -> Callable[[Response], bool]:
    return lambda r: r.headers.get(name) == value


def body_is(text: str) -> Callable[[Response], bool]:
    return lambda r: r.body.decode() == text


PROBE_VALUES = """
  local found = {}
  local function walk(v, depth)
    local t = type(v)
    if t == "userdata" or t == "thread" then found[#found + 1] = t end
    if t == "table" and depth < 4 then for k, x in pairs(v) do walk(k, depth + 1) walk(x, depth + 1) end end
  end
  for _, f in ipairs({
    kong.request.get_headers, kong.request.get_query, kong.request.get_method, kong.request.get_path,
    kong.request.get_start_time, kong.request.get_uri_captures, kong.request.get_raw_body,
    kong.client.get_ip, kong.client.get_consumer, kong.router.get_route, kong.router.get_service,
    kong.node.get_id, kong.node.get_hostname, kong.node.get_memory_stats, kong.response.get_headers,
    kong.service.request.get_headers, kong.ip.is_trusted, kong.log.serialize,
  }) do
    local ok, a, b, c = pcall(f, "127.0.0.1")
    if ok then walk(a, 0) walk(b, 0) walk(c, 0) end
  end
  walk(kong.configuration.untrusted_lua, 0)
  walk(kong.ctx.shared.from_python, 0)
"""

ROWS: list[Row] = [
    # -- lua-sandbox.md section 9 ----------------------------------------------------------
    Row(
        "s9-1-python-eval",
        'return python.eval(\'__import__("os").system("touch ' + MARK + "\")')",
        Fail("error"),
    ),
    Row("s9-2-python-builtins", "return python.builtins.open('/etc/passwd'):read()", Fail("error")),
    Row("s9-3-pdk-globals", "local f = kong.request.get_header return f.__globals__", Fail("error")),
    Row(
        "s9-4-python-object",
        "local o = kong.ctx.shared.from_python return o.__class__.__mro__",
        Fail("error"),
    ),
    Row("s9-5-io-open", "return io.open('/etc/passwd'):read('*a')", Fail("error")),
    Row("s9-6-os-execute", "os.execute('touch " + MARK + "')", Fail("error")),
    Row("s9-7-ffi", "local ffi = require('ffi') return ffi.cast('int*', 0)[0]", Fail("forbidden")),
    Row(
        "s9-8-loadstring-bytecode", "return loadstring(string.char(27) .. 'LJ\\2\\0garbage')()", Fail("error")
    ),
    Row("s9-9-string-dump", "return ('').dump(function() end)", Fail("error")),
    Row("s9-10-load-binary", "return load(string.char(27) .. 'LJ', 'x', 'b')", Fail("error")),
    Row("s9-11-getfenv", "return getfenv(0).io", Fail("error")),
    Row("s9-11-string-metatable", "return getmetatable('').__index.dump", Fail("error")),
    Row("s9-12-while-true", "while true do end", Fail("timeout")),
    Row("s9-13-jit-friendly-for", "local x = 0 for i = 1, 1e12 do x = x + i end", Fail("timeout")),
    Row(
        "s9-14-loop-behind-pcall",
        "while true do pcall(function() while true do end end) end",
        Fail("timeout"),
    ),
    Row(
        "s9-15-loop-behind-coroutine",
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        Fail("timeout"),
    ),
    Row("s9-16-lua-recursion", "local function f() return 1 + f() end return f()", Fail("error")),
    Row(
        "s9-17-gsub-c-recursion",
        "local function f(s) return (s:gsub('.', f)) end return f('x')",
        Fail("limit"),
    ),
    Row(
        "s9-18-wrap-c-recursion",
        "local function f() return coroutine.wrap(f)() end return f()",
        Fail("limit"),
    ),
    # (16 MB strings of different lengths: four reach the 64 MiB cap; memory rows run
    # under MEMORY_ROWS_BUDGET_MS, so the cap and not the CPU budget stops them)
    Row(
        "s9-19-memory-bomb",
        "local t, i = {}, 0 while true do i = i + 1 t[i] = string.rep('x', 16e6 - i) end",
        Fail("memory"),
    ),
    Row("s9-20-huge-rep", "return #string.rep('x', 2^31)", Fail("limit")),
    Row(
        "s9-21-string-tamper",
        "string.upper = function() return 'pwned' end kong.response.set_header('x-upper', string.upper('a'))",
        Ok(header("x-upper", "pwned"), "own copy"),
    ),
    Row(
        "s9-21-string-tamper-other",
        "kong.response.set_header('x-upper', string.upper('a'))",
        Ok(header("x-upper", "A"), "not affected"),
        setup=("s9-21-string-tamper",),
    ),
    Row("s9-22-kong-write", "kong.response.exit = nil", Fail("forbidden")),
    Row("s9-22-kong-add", "kong.x = 1", Fail("forbidden")),
    Row(
        "s9-22-kong-intact",
        "return kong.response.exit(200, 'exit works')",
        Ok(body_is("exit works")),
        setup=("s9-22-kong-write", "s9-22-kong-add"),
    ),
    Row(
        "s9-23-global-leak",
        "GLOBAL_SECRET = 'leak' kong.response.set_header('x-g', tostring(GLOBAL_SECRET))",
        Ok(header("x-g", "leak")),
    ),
    Row(
        "s9-23-global-other",
        "kong.response.set_header('x-g', tostring(GLOBAL_SECRET))",
        Ok(header("x-g", "nil")),
        setup=("s9-23-global-leak",),
    ),
    Row(
        "s9-24-getmetatable-kong",
        "getmetatable(kong.request).__index = function() return 'pwned' end",
        Fail("error"),
    ),
    Row("s9-25-error-table", "error({code = 403})", Fail("error")),
    Row(
        "s9-25-tostring-loop-error",
        "error(setmetatable({}, {__tostring = function() while true do end end}))",
        Fail("error"),
        plugin=True,
    ),
    Row("s9-26-catastrophic-find", "return string.find(string.rep('a', 30000), '.-.-.-b')", Fail("timeout")),
    Row("s9-27-collectgarbage", "collectgarbage('stop')", Fail("error")),
    Row("s9-27-jit-flush", "jit.flush()", Fail("error")),
    Row("s9-27-debug-sethook", "debug.sethook()", Fail("error")),
    Row(
        "s9-28-re-callback-recursion",
        "local function f(m) return ngx.re.gsub('ab', '.', f) end return ngx.re.gsub('ab', '.', f)",
        Fail("error"),
    ),
    Row("s9-29-huge-header", "kong.response.set_header('x-big', string.rep('x', 12 * 2^20))", Fail("limit")),
    # -- Moongate's own -----------------------------------------------------------------------
    Row(
        "python-internals-in-pdk-values",
        PROBE_VALUES + " return kong.response.exit(200, #found .. ' foreign')",
        Ok(body_is("1 foreign"), "only the Python plugin's own object is a userdata"),
    ),
    Row(
        "python-object-attributes",
        """
        local o = kong.ctx.shared.from_python
        local tries = { function() return o.__class__ end, function() return o.secret end,
          function() return o.reveal() end, function() return o["__dict__"] end, function() o.secret = 1 end }
        local failed = 0
        for _, t in ipairs(tries) do if not pcall(t) then failed = failed + 1 end end
        return kong.response.exit(200, failed .. '/' .. #tries)""",
        Ok(body_is("5/5")),
    ),
    Row("ngx-write", "ngx.exit = function() end", Fail("forbidden")),
    Row("ngx-add", "ngx.foo = 1", Fail("forbidden")),
    Row("ngx-shared-replace", "ngx.shared.cache = {}", Fail("error")),
    Row(
        "ngx-intact",
        "ngx.status = 201 ngx.header['x-n'] = tostring(ngx.foo) return ngx.exit(201)",
        Ok(lambda r: r.status == 201 and r.headers.get("x-n") == "nil"),
        setup=("ngx-add",),
    ),
    Row("rawset-kong", "rawset(kong, 'x', 1)", Fail("error")),
    Row(
        "rawset-kong-plugin",
        "rawset(kong, 'request', 'x') return kong.response.exit(200, type(kong.request))",
        Ok(body_is("string"), "a plugin's own view only"),
        plugin=True,
    ),
    Row(
        "metatable-poison-own",
        "getmetatable(kong.request.get_headers()).__index = function() return 'pwned' end "
        "return kong.response.exit(200, tostring(kong.request.get_headers()['x-none']))",
        Ok(body_is("pwned")),
        plugin=True,
    ),
    Row(
        "metatable-poison-other",
        "return kong.response.exit(200, tostring(kong.request.get_headers()['x-none']))",
        Ok(body_is("nil"), "another plugin's runtime"),
        plugin=True,
        setup=("metatable-poison-own",),
    ),
    Row("setmetatable-string", "setmetatable('', {})", Fail("error"), plugin=True),
    Row("bytecode-load-plugin", "return load(string.char(27) .. 'LJ')", Fail("error"), plugin=True),
    Row(
        "xpcall-handler-loop",
        "xpcall(function() while true do end end, function() while true do end end)",
        Fail("timeout"),
    ),
    Row(
        "pcall-catch-memory",
        "local ok = pcall(function() local t = {} while true do t[#t + 1] = "
        "string.rep('y', 16e6 - #t) end end) kong.response.exit(200, 'swallowed')",
        Fail("memory"),
    ),
    Row(
        "cache-callback-loop",
        "kong.cache:get('k', nil, function() while true do end end) "
        "return kong.response.exit(200, 'escaped')",
        Fail("timeout"),
    ),
    Row(
        "tostring-recursion",
        "local t = setmetatable({}, {__tostring = function(s) return tostring(s) end}) return tostring(t)",
        Fail("timeout"),
        plugin=True,
    ),
    Row(
        "gsub-table-recursion",
        "local t t = setmetatable({}, {__index = function(_, k) "
        "return (('x'):gsub('.', t)) end}) return ('x'):gsub('.', t)",
        Fail("limit"),
        plugin=True,
    ),
    Row("yield-across-gsub", "return ('a'):gsub('.', function() coroutine.yield() end)", Fail("error")),
    Row(
        "yield-across-sort",
        "table.sort({3, 2, 1}, function(a, b) coroutine.yield() return a < b end)",
        Fail("error"),
    ),
    Row("yield-forever", "while true do coroutine.yield() end", Fail("timeout")),
    Row(
        "io-through-own-coroutine",
        "coroutine.wrap(function() ngx.sleep(0.01) end)() return kong.response.exit(200, 'slept')",
        Ok(body_is("slept")),
    ),
    Row(
        "exponential-pattern",
        "return (('a'):rep(28)):match(('a?'):rep(28) .. ('a'):rep(28))",
        Fail("timeout"),
    ),
    Row("catastrophic-gmatch", "for w in (('a'):rep(20000)):gmatch('a-a-a-b') do end", Fail("timeout")),
    Row(
        "catastrophic-body",
        "return kong.request.get_raw_body():find('(.-)x(.-)y(.-)z')",
        Fail("timeout"),
        method="POST",
        body=b"b" * 60000,
    ),
    Row(
        "linear-pattern-on-large-body",
        "local s = kong.request.get_raw_body():gsub('%s+', ' ') return kong.response.exit(200, tostring(#s))",
        Ok(body_is("3")),
        method="POST",
        body=b"a" + b" " * 500000 + b"b",
    ),
    # loops of long C calls: no hook fires inside C, the limited functions check the clock
    Row(
        "loop-of-sorts",
        "local t = {} for i = 1, 1e5 do t[i] = i end while true do table.sort(t) end",
        Fail("timeout"),
    ),
    Row(
        "loop-of-upper",
        "local s = string.rep('x', 8e6) while true do local t = s:upper() end",
        Fail("timeout"),
    ),
    Row(
        "loop-of-gsub",
        "local s = string.rep('a', 1e6) while true do local _ = s:gsub('a', 'b') end",
        Fail("timeout"),
    ),
    Row("table-bomb", "local t = table.new(2^27, 0) t[1] = 1", Fail("memory")),
    # bounded at 100k slots: CPU runs out first on any machine (an unbounded fill may hit 64 MiB first)
    Row("slow-table-fill", "local t = {} for i = 1, 1e9 do t[i % 100000] = i end", Fail("timeout")),
    Row("concat-bomb", "local s = 'x' while true do s = s .. s end", Fail("memory")),
    Row("huge-exit-body", "return kong.response.exit(200, string.rep('x', 9 * 2^20))", Fail("limit")),
    Row(
        "ctx-metatable-trap",
        "kong.ctx.shared.trap = setmetatable({}, {__index = function() while true do end end})",
        Fail("limit"),
        plugin=True,
    ),
    Row("huge-ctx-value", "kong.ctx.shared.big = string.rep('x', 9 * 2^20)", Fail("limit")),
    Row("huge-ngx-header", "ngx.header['x-big'] = string.rep('x', 9 * 2^20)", Fail("limit")),
    Row(
        "huge-table-arg",
        "local t = {} for i = 1, 12 do t['h' .. i] = string.rep('x', 2^20) end "
        "kong.service.request.set_headers(t)",
        Fail("limit"),
    ),
    Row(
        "timer-loop",
        "ngx.timer.at(0, function() while true do end end) return kong.response.exit(200, 'armed')",
        Ok(body_is("armed")),
    ),
    Row(
        "timer-sleep-loop",
        "ngx.timer.at(0, function() while true do ngx.sleep(0) end end) "
        "return kong.response.exit(200, 'armed')",
        Ok(body_is("armed")),
    ),
    Row("require-host-internals", "return require('moongate.kong')", Fail("forbidden")),
    Row(
        "require-other-plugin",
        "return require('kong.plugins.pre-function.handler')",
        Fail("forbidden"),
        plugin=True,
    ),
    Row("print-huge", "print(string.rep('x', 9 * 2^20))", Fail("limit")),
]

ROW_BY_ID = {row.id: row for row in ROWS}


def _plugin_name(row: Row) -> str:
    return "hostile-" + row.id


def _write_plugin(root: Path, row: Row) -> None:
    folder = root / _plugin_name(row)
    folder.mkdir(parents=True)
    (folder / "schema.lua").write_text(
        'return { name = "'
        + _plugin_name(row)
        + '", fields = { { config = { type = "record", fields = {} } } } }\n'
    )
    (folder / "handler.lua").write_text(
        "local P = { PRIORITY = 1000, VERSION = '1.0.0' }\n"
        "function P:access(conf)\n" + textwrap.indent(textwrap.dedent(row.code), "  ") + "\nend\nreturn P\n"
    )


def _route(row: Row) -> dict:
    if row.plugin:
        plugin = {"name": _plugin_name(row)}
    else:
        plugin = {"name": "pre-function", "config": {"access": [textwrap.dedent(row.code)]}}
    return {"name": row.id, "paths": ["/h/" + row.id], "plugins": [plugin, {"name": "python-object"}]}


PYTHON_OBJECT_PLUGIN = '''
"""Stores a Python object with methods in kong.ctx.shared (what Lua must not get into)."""


class Secret:
    secret = "s3cr3t"

    def reveal(self):
        return self.secret


PRIORITY = 2000000
VERSION = "1.0.0"


def access(kong, conf):
    kong.ctx.shared["from_python"] = Secret()
'''


#: the CPU budget of the gateway that runs the memory rows: a bomb copies up to 64 MiB
#: (the memory cap), which takes 10-70 ms of CPU on an idle CI machine and more under
#: load, so with the default 50 ms budget either limit may fire first; this budget is
#: far above what any bomb needs, so the memory cap is what stops every one of them
MEMORY_ROWS_BUDGET_MS = 5000


#: rows that build a value of many MiB before the limit they test stops them (the same
#: race with the CPU budget as the memory bombs): they run in the memory rows' gateway
BIG_VALUE_ROWS = frozenset({"s9-29-huge-header"})


def _memory_row(row: Row) -> bool:
    return row.id in BIG_VALUE_ROWS or (isinstance(row.expect, Fail) and row.expect.reason == "memory")


def _start(
    tmp: Path, rows: list[Row], routes: list[dict], plugins: list[dict], env: dict[str, str]
) -> tuple[GatewayProcess, Upstream]:
    untrusted, python_dir = tmp / "marketplace", tmp / "python"
    untrusted.mkdir()
    python_dir.mkdir()
    (python_dir / "python_object.py").write_text(PYTHON_OBJECT_PLUGIN)
    for row in rows:
        if row.plugin:
            _write_plugin(untrusted, row)
    upstream = Upstream(tmp)
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "echo",
                "url": upstream.url,
                "routes": [{"name": "ok", "paths": ["/ok"]}, *routes, *(_route(row) for row in rows)],
            }
        ],
        "plugins": plugins,
    }
    gw = GatewayProcess(
        tmp, config, env={"MOONGATE_UNTRUSTED_PLUGINS_DIRS": str(untrusted), **env}, plugins_dirs=[python_dir]
    )
    return gw, upstream


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """Every row but the memory rows, and the phase routes; the default budget (50 ms)."""
    phase_routes = [
        {
            "name": f"phase-{phase}",
            "paths": [f"/phase/{phase}"],
            "plugins": [{"name": "pre-function", "config": {phase: [LOOP]}}],
        }
        for phase in ("access", "header_filter", "body_filter", "log")
    ]
    routes = [{"name": "phase-rewrite", "paths": ["/phase/rewrite"]}, *phase_routes]
    # rewrite runs global plugins only: this one loops on one path
    plugins = [
        {
            "name": "pre-function",
            "config": {"rewrite": ["if kong.request.get_path() == '/phase/rewrite' then " + LOOP + " end"]},
        }
    ]
    rows = [row for row in ROWS if not _memory_row(row)]
    gw, upstream = _start(tmp_path_factory.mktemp("adversarial"), rows, routes, plugins, {})
    yield gw
    gw.stop()
    upstream.stop()


@pytest.fixture(scope="module")
def memory_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """The memory and big-value rows, under an explicit CPU budget far above what they need."""
    rows = [row for row in ROWS if _memory_row(row)]
    env = {"MOONGATE_SANDBOX_CPU_BUDGET_MS": str(MEMORY_ROWS_BUDGET_MS)}
    gw, upstream = _start(tmp_path_factory.mktemp("adversarial-memory"), rows, [], [], env)
    yield gw
    gw.stop()
    upstream.stop()


def _send(gateway: GatewayProcess, row: Row) -> Response:
    assert gateway.alive(), gateway.exit_status()
    return gateway.request(row.method, "/h/" + row.id, body=row.body)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_hostile_snippet(request: pytest.FixtureRequest, row: Row) -> None:
    gateway: GatewayProcess = request.getfixturevalue("memory_gateway" if _memory_row(row) else "gateway")
    for earlier in row.setup:
        _send(gateway, ROW_BY_ID[earlier])
    started = time.monotonic()
    resp = _send(gateway, row)
    if isinstance(row.expect, Fail) and row.expect.reason == "timeout":
        assert time.monotonic() - started < 2.0  # stopped at the budget (50 ms of CPU), not later
    if isinstance(row.expect, Fail):
        assert resp.status == 500, resp.body[:300]
        body = resp.json()
        assert {k: v for k, v in body.items() if k != "request_id"} == GENERIC
        lines = [
            line for line in gateway.plugin_errors(row.id) if line.get("request_id") == body["request_id"]
        ]
        assert len(lines) == 1, gateway.plugin_errors(row.id)
        line = lines[0]
        assert line["plugin"] == (_plugin_name(row) if row.plugin else "pre-function")
        assert line["phase"] == row.expect.phase
        assert line["reason"] == row.expect.reason, line["msg"]
    else:
        assert row.expect.check(resp), (resp.status, resp.headers, resp.body[:300])
    ok = gateway.get("/ok")
    assert ok.status == 200
    assert ok.json()["path"] == "/"
    assert gateway.alive(), gateway.exit_status()
    assert not os.path.exists(MARK)


def _wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize("phase", ["rewrite", "access", "header_filter", "body_filter", "log"])
def test_infinite_loop_in_each_phase(gateway: GatewayProcess, phase: str) -> None:
    """The budget holds in every phase.  What the client sees depends on how far the
    response got: a 500 before the head is sent; in body_filter the head is on its way,
    so the connection is closed; log runs after the response was sent (a 200)."""
    started = len(gateway.log_lines())
    if phase == "body_filter":
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            gateway.get(f"/phase/{phase}")
    else:
        resp = gateway.get(f"/phase/{phase}")
        if phase == "log":
            assert resp.status == 200
        else:
            assert resp.status == 500
            assert {k: v for k, v in resp.json().items() if k != "request_id"} == GENERIC
    lines = _wait_for(lambda: [line for line in gateway.log_lines()[started:] if line.get("phase") == phase])
    assert [(line["plugin"], line["reason"]) for line in lines] == [("pre-function", "timeout")]
    # rewrite runs before the router: the line has no route yet
    assert lines[0].get("route") == (None if phase == "rewrite" else f"phase-{phase}")
    assert gateway.get("/ok").status == 200
    assert gateway.alive(), gateway.exit_status()


@pytest.mark.parametrize("row_id", ["timer-loop", "timer-sleep-loop"])
def test_timers_that_never_end_are_stopped(gateway: GatewayProcess, row_id: str) -> None:
    """A timer callback gets the same CPU budget (its runs between sleeps add up)."""
    before = len([line for line in gateway.log_lines() if "failed to run timer" in line.get("msg", "")])
    assert _send(gateway, ROW_BY_ID[row_id]).status == 200
    lines = _wait_for(
        lambda: [line for line in gateway.log_lines() if "failed to run timer" in line.get("msg", "")][
            before:
        ]
    )
    assert "CPU budget of 50 ms exceeded" in lines[0]["msg"]
    try:
        gateway.get("/ok")
    except Exception:
        time.sleep(0.5)
        raise AssertionError(gateway.exit_status() + gateway.log.read_text()[-3000:])
    assert gateway.get("/ok").status == 200
    assert gateway.alive(), gateway.exit_status()
