"""Kong's helper modules for Lua plugins: kong.meta, kong.constants, kong.tools.* and
OpenResty's table.* extensions, unit by unit, then a plugin using them through requests."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from host.lua.driver import drive
from host.lua.runtime import LuaHost
from host.version import KONG_COMPAT_VERSION
from tests.conftest import service

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str, *args: Any) -> Any:
    """Run ``src`` in a test plugin's environment with ``args`` as ``...``; its result."""
    result = host.compile_in("tools-test", src)(*[host.to_lua(a) for a in args])
    return host.to_python(result)


def test_meta_reports_the_implemented_kong_version(host):
    got = run(
        host,
        """local m = require "kong.meta"
        local v = m._VERSION_TABLE
        return { m._NAME, m._VERSION, m.version, m._SERVER_TOKENS, tostring(v), v.major, v.minor, v.patch }""",
    )
    major, minor, patch = (int(p) for p in KONG_COMPAT_VERSION.split("."))
    assert got == [
        "kong",
        KONG_COMPAT_VERSION,
        KONG_COMPAT_VERSION,
        f"kong/{KONG_COMPAT_VERSION}",
        KONG_COMPAT_VERSION,
        major,
        minor,
        patch,
    ]


def test_constants_hold_kongs_values(host):
    got = run(
        host,
        """local c = require "kong.constants"
        return { headers = c.HEADERS, protocols = c.PROTOCOLS, subsystems = c.PROTOCOLS_WITH_SUBSYSTEM,
                 source = c.RESPONSE_SOURCE, sync = c.CLUSTERING_SYNC_STATUS.NORMAL,
                 routes = c.CORE_ENTITIES.routes, first = c.CORE_ENTITIES[1],
                 store = { c.ENTITY_CACHE_STORE.routes, c.ENTITY_CACHE_STORE.anything },
                 levels = { c.LOG_LEVELS.warn, c.LOG_LEVELS[4] }, bundled = c.BUNDLED_PLUGINS["key-auth"] }""",
    )
    assert got["headers"]["CONSUMER_ID"] == "X-Consumer-ID"
    assert got["headers"]["ANONYMOUS"] == "X-Anonymous-Consumer"
    assert got["headers"]["REQUEST_ID"] == "X-Kong-Request-Id"
    assert len(got["headers"]) == 21
    assert got["protocols"] == ["grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp"]
    assert got["subsystems"]["grpcs"] == "http" and got["subsystems"]["udp"] == "stream"
    assert got["source"] == {
        "TYPES": {"ERROR": "error", "EXIT": "exit", "SERVICE": "service"},
        "NAMES": {"error": "kong", "exit": "kong", "service": "upstream"},
    }
    assert got["sync"] == "normal" and got["routes"] is True and got["first"] == "workspaces"
    assert got["store"] == ["core_cache", "cache"]
    assert got["levels"] == [5, "error"] and got["bundled"] is True


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ('split("a,b,,c,", ",")', [["a", "b", "", "c", ""]]),
        ('split("  a  b c ")', [["a", "b", "c"]]),
        ('split("a.b.c", ".", 2)', [["a", "b.c"]]),
        ('splitn("a,b,c", ",")', [["a", "b", "c"], 3]),
        ('splitn("a,b,c", ",", 2)', [["a", "b,c"], 2]),
        ('splitn("", ",")', [[""], 1]),
        ('splitn("ab", "")', [["", "a", "b", ""], 4]),
        ('psplitn("a1b22c", "%d+")', [["a", "b", "c"], 3]),
        ('split_once("k=v=w", "=")', ["k", "v=w"]),
        ('split_once("kv", "=")', ["kv"]),
        ('psplit_once("a  b", "%s+")', ["a", "b"]),
        ('strip("  x y \\t\\r\\n")', ["x y"]),
        ("strip(nil)", [""]),
        ("strip(42)", ["42"]),
        ('validate_utf8("héllo")', [True]),
        ('validate_utf8("a\\255b")', [False, 2]),
        ("bytes_to_str(5497558)", ["5497558"]),
        ('bytes_to_str(5497558, "m")', ["5.24 MiB"]),
        ('bytes_to_str(5497558, "G", 3)', ["0.005 GiB"]),
        ('parse_ngx_size("10k")', [10240]),
        ('replace_dashes("x-my-header")', ["x_my_header"]),
        ('replace_dashes_lower("X-My-Header")', ["x_my_header"]),
        ('try_decode_base64("aGVsbG8")', ["hello"]),
        ('try_decode_base64("aGk_Pz8-")', ["hi???>"]),
        ('try_decode_base64("not base64!")', ["not base64!"]),
        ('join(", ", {"a", "b"})', ["a, b"]),
    ],
)
def test_string_helpers(host, call, expected):
    got = run(host, f"local s = require 'kong.tools.string' return {{ s.{call} }}")
    assert got == expected


def test_isplitn_iterates_the_parts(host):
    assert run(
        host,
        """local s = require "kong.tools.string"
        local out = {}
        for p in s.isplitn("a, b ,c", ",") do out[#out + 1] = s.strip(p) end
        for p in s.isplitn("single", ",") do out[#out + 1] = p end
        for p in s.isplitn(nil, ",") do out[#out + 1] = "never" end
        return out""",
    ) == ["a", "b", "c", "single"]


def test_table_helpers(host):
    got = run(
        host,
        """local t = require "kong.tools.table"
        local ok, err = pcall(function() t.EMPTY.x = 1 end)
        local src = { a = { b = 1 }, list = { 1, 2 } }
        src.self = src
        local copy = t.cycle_aware_deep_copy(src)
        local p = t.pack(1, nil, 3)
        local errors = t.add_error(t.add_error(t.add_error(nil, "f", "e1"), "f", "e2"), "g", "e3")
        local null_merge = t.null_aware_table_merge({ a = 1, b = 2 }, { a = ngx.null, c = ngx.null })
        return {
          empty = { ok, err:match("Attempt to modify read%-only table") ~= nil, next(t.EMPTY) == nil },
          cycle = { copy ~= src, copy.self == copy, copy.a ~= src.a, copy.a.b },
          deep = t.deep_merge({ a = { x = 1, y = 2 }, b = 1 }, { a = { y = 3 }, c = 4 }),
          merge = t.table_merge({ 1, 2, 3, k = "a" }, { 4, 5, k = "b" }),
          null_merge = { null_merge.a, null_merge.b, null_merge.c == ngx.null },
          pack = { p.n, select("#", t.unpack(p)) },
          concat = t.concat({ 1, 2 }, {}, { 3 }),
          contains = { t.table_contains({ "a", "b" }, "b"), t.table_contains(nil, "b") },
          arrays = { t.is_array({ 1, 2 }), t.is_array({ 1, nil, 3 }), t.is_array({ [1] = 1, [3] = 3 }, "fast"),
                     t.is_array({ ["1"] = 1 }, "lapis"), t.is_array({ a = 1 }), t.is_array("x") },
          errors = { errors.f[1], errors.f[2], errors.g },
          path = { t.table_path({ a = { b = { c = 5 } } }, { "a", "b", "c" }),
                   t.table_path({ a = {} }, { "a", "x", "y" }) == nil },
          shallow = t.shallow_copy(src.list) ~= src.list,
        }""",
    )
    assert got["empty"] == [False, True, True]
    assert got["cycle"] == [True, True, True, 1]
    assert got["deep"] == {"a": {"x": 1, "y": 3}, "b": 1, "c": 4}
    assert got["merge"] == {1: 4, 2: 5, 3: 3, "k": "b"}
    assert got["null_merge"] == [1, 2, True]
    assert got["pack"] == [3, 3]
    assert got["concat"] == [1, 2, 3]
    assert got["contains"] == [True, False]
    assert got["arrays"] == [True, False, True, True, False, False]
    assert got["errors"] == ["e1", "e2", "e3"]
    assert got["path"] == [5, True] and got["shallow"] is True


def test_openresty_table_extensions(host):
    got = run(
        host,
        """return {
        require("table.isempty")({}), require("table.isempty")({ nil, 3 }),
        require("table.nkeys")({ "a", nil, "b", dog = 1 }), require("table.isarray")({}),
        require("table.isarray")({ 1, [-2] = 2, [10] = 3 }), require("table.isarray")({ 1, x = 2 }),
        require("table.isarray")({ [1.5] = 1 }), require("table.clone")({ 1, 2, k = { 3 } }) }""",
    )
    assert got == [True, False, 3, True, True, False, False, {1: 1, 2: 2, "k": [3]}]


def test_uuid_rand_and_sha256(host):
    got = run(
        host,
        """local uuid, rand, sha = require "kong.tools.uuid", require "kong.tools.rand", require "kong.tools.sha256"
        local a, b = uuid.uuid(), uuid.uuid()
        return { a = a, b = b, valid = { uuid.is_valid_uuid(a), uuid.is_valid_uuid(a:upper()),
                 uuid.is_valid_uuid("00000000-0000-0000-0000-000000000000"), uuid.is_valid_uuid(a .. "0"),
                 uuid.is_valid_uuid("g" .. a:sub(2)), uuid.is_valid_uuid(nil) },
                 bytes = rand.get_rand_bytes(16), bytes2 = rand.get_rand_bytes(16, true),
                 str = rand.random_string(), str2 = rand.random_string(),
                 sha = { sha.sha256_bin("abc"), sha.sha256_hex("abc"), sha.sha256_base64("abc"),
                         sha.sha256_base64url("abc"), sha.sha256_hex(nil) } }""",
    )
    assert UUID4.fullmatch(got["a"]) and UUID4.fullmatch(got["b"]) and got["a"] != got["b"]
    assert got["valid"] == [True, True, True, False, False, False]
    raw = host.compile_in("tools-test", "return require('kong.tools.rand').get_rand_bytes(...)")(16)
    assert isinstance(raw, bytes) and len(raw) == 16
    assert got["bytes"] != got["bytes2"]
    assert re.fullmatch(r"[A-Za-z0-9]{32}", got["str"]) and got["str"] != got["str2"]
    digest = hashlib.sha256(b"abc").digest()
    assert got["sha"][1:] == [
        digest.hex(),
        base64.b64encode(digest).decode(),
        base64.urlsafe_b64encode(digest).decode().rstrip("="),
        hashlib.sha256(b"").hexdigest(),
    ]
    sha_bin = host.compile_in("tools-test", "return require('kong.tools.sha256').sha256_bin('abc')")()
    assert sha_bin == digest


def test_http_query_strings_and_validation(host):
    got = run(
        host,
        """local http = require "kong.tools.http"
        local function pack(...) return { ... } end
        return {
          enc = http.encode_args({ b = { 1, 2 }, a = "x y/é", c = true, d = ngx.null, e = "", n = { k = "v" } }),
          raw = http.encode_args({ a = "x y", l = { 1, 2 } }, true, true),
          dec = http.decode_args({ a = "", b = "true", c = "false", d = { ["2"] = "y", ["1"] = "x" }, e = "s" }),
          null = http.decode_args({ a = "" }).a == ngx.null,
          header = { pack(http.validate_header_name("X-My_Header1")), pack(http.validate_header_name("x y")),
                     pack(http.validate_header_name("")) },
          token = { pack(http.validate_http_token("session")), pack(http.validate_cookie_name("a;b")) },
          exit = { http.get_default_exit_body(404), http.get_default_exit_body(502, "ignored"),
                   http.get_default_exit_body(200, "ok"), http.get_default_exit_body(204, "x") == nil,
                   (pcall(http.get_default_exit_body, 700)) },
        }""",
    )
    assert got["enc"] == "a=x%20y%2f%c3%a9&b%5b1%5d=1&b%5b2%5d=2&c=true&d=&e&n%2ek=v"
    assert got["raw"] == "a=x y&l[]=1&l[]=2"
    assert got["null"] is True
    assert {k: v for k, v in got["dec"].items() if k != "a"} == {
        "b": True,
        "c": False,
        "d": ["x", "y"],
        "e": "s",
    }
    assert got["header"] == [
        ["X-My_Header1"],
        {2: "bad header name 'x y', allowed characters are A-Z, a-z, 0-9, '_', and '-'"},
        {2: "no header name provided"},
    ]
    assert got["token"][0] == ["session"] and got["token"][1][2].startswith("contains one or more invalid")
    assert got["exit"][:4] == [{"message": "Not found"}, {"message": "Bad gateway"}, {"message": "ok"}, True]
    assert got["exit"][4] is False


def test_http_content_negotiation_and_caching_directives(host):
    got = run(
        host,
        """local http = require "kong.tools.http"
        return {
          mime = { http.get_mime_type("text/*"), http.get_mime_type("application/xml; q=1"),
                   http.get_mime_type("*/*"), http.get_mime_type("image/png"),
                   http.get_mime_type("image/png", false) == nil },
          accept = { http.get_response_type("text/html;q=0.5, application/xml;q=0.9"),
                     http.get_response_type({ "text/plain", "text/html" }),
                     http.get_response_type("text/html;q=0"), http.get_response_type(nil) },
          template = { http.get_error_template("text/plain"), http.get_error_template("image/png") == nil },
          directives = http.parse_directive_header({ "public, max-age=3600", "S-MaxAge=60, no-cache" }),
          empty = http.parse_directive_header(nil) == require("kong.tools.table").EMPTY,
          ttl = { http.calculate_resource_ttl({ ["max-age"] = 10, ["s-maxage"] = 20 }),
                  http.calculate_resource_ttl({ ["max-age"] = -5 }) },
        }""",
    )
    assert got["mime"] == [
        "text/plain; charset=utf-8",
        "application/xml; charset=utf-8",
        "application/json; charset=utf-8",
        "application/json; charset=utf-8",
        True,
    ]
    assert got["accept"] == [
        "application/xml; charset=utf-8",
        "text/plain; charset=utf-8",
        "application/json; charset=utf-8",
        "application/json; charset=utf-8",
    ]
    assert got["template"] == ["%s\nrequest_id: %s\n", True]
    assert got["directives"] == {"public": True, "max-age": 3600, "s-maxage": 60, "no-cache": True}
    assert got["empty"] is True and got["ttl"] == [20, 0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", ["application", "json", {}]),
        ("Application/JSON; Charset=utf-8; q=1", ["application", "json", {"charset": "utf-8", "q": "1"}]),
        ('text/plain;format="flowed text"', ["text", "plain", {"format": "flowed text"}]),
        ("*", ["*", "*", {}]),
        ("*/*", ["*", "*", {}]),
        ("application/json;", {}),
        ("application/json ", {}),
        ("application", {}),
        ("text/plain; charset", {}),
    ],
)
def test_mime_type_parsing(host, value, expected):
    assert run(host, "return { require('kong.tools.mime_type').parse_mime_type(...) }", value) == expected


def test_mime_type_includes(host):
    assert run(
        host,
        """local includes = require("kong.tools.mime_type").includes
        local function t(a, b) return { type = a, subtype = b } end
        return { includes(t("*", "*"), t("text", "html")), includes(t("application", "*"), t("application", "xml")),
                 includes(t("application", "json"), t("application", "problem+json")),
                 includes(t("application", "json"), t("text", "json")),
                 includes(t("application", "x+json"), t("application", "y+json")),
                 (pcall(includes, "a", t("b", "c"))) }""",
    ) == [True, True, True, False, False, False]


def test_time_and_timestamps(host):
    got = run(
        host,
        """local time, ts = require "kong.tools.time", require "kong.tools.timestamp"
        local function pack(...) return { ... } end
        return {
          now_ms = time.get_updated_now_ms(), ns = time.time_ns(), utc = ts.get_utc(), utc_ms = ts.get_utc_ms(),
          conf = { time.nginx_conf_time_to_seconds("1h 30m"), time.nginx_conf_time_to_seconds("10"),
                   time.nginx_conf_time_to_seconds("1y2M3w4d5h6m7s"),
                   (pcall(time.nginx_conf_time_to_seconds, "5ms")) },
          bad_order = (pcall(time.nginx_conf_time_to_seconds, "1m 1h")),
          stamps_ms = ts.get_timestamps(1709210096789), stamps_s = ts.get_timestamps(1709210096),
          fields = ts.timestamp_table_fields,
          frozen = (pcall(function() ts.timestamp_table_fields.extra = 1 end)),
        }""",
    )
    now = time.time() * 1000
    assert abs(got["now_ms"] - now) < 2000 and abs(got["ns"] / 1e6 - now) < 2000
    assert got["utc"] % 1000 == 0 and abs(got["utc_ms"] - now) < 2000
    assert got["conf"] == [
        5400,
        10,
        31536000 + 2 * 2592000 + 3 * 604800 + 4 * 86400 + 5 * 3600 + 6 * 60 + 7,
        False,
    ]
    assert got["bad_order"] is False and got["frozen"] is False
    at = datetime(2024, 2, 29, 12, 34, 56, tzinfo=UTC)  # 1709210096

    def ms(d: datetime) -> int:
        return int(d.timestamp()) * 1000

    expected = {
        "second": ms(at),
        "minute": ms(at.replace(second=0)),
        "hour": ms(at.replace(minute=0, second=0)),
        "day": ms(at.replace(hour=0, minute=0, second=0)),
        "month": ms(at.replace(day=1, hour=0, minute=0, second=0)),
        "year": ms(at.replace(month=1, day=1, hour=0, minute=0, second=0)),
    }
    assert got["stamps_ms"] == expected and got["stamps_s"] == expected
    assert got["fields"] == ["second", "minute", "hour", "day", "month", "year"]


async def test_yield_lets_other_tasks_run_in_yieldable_phases(host):
    ticks: list[int] = []

    async def ticker() -> None:
        for i in range(3):
            ticks.append(i)
            await asyncio.sleep(0)

    def seen() -> int:
        return len(ticks)

    fn = host.compile_in(
        "tools-test",
        """local yield = require("kong.tools.yield").yield
        local seen = ...
        local before = seen()
        yield(false, "log")                -- not a yieldable phase: returns at once
        local after_log = seen()
        yield(false, "access")
        local after_access = seen()
        for _ = 1, 999 do yield(true, "access") end   -- in a loop: every 1000th call only
        local after_loop = seen()
        return before, after_log, after_access, after_loop, require("kong.tools.yield").in_yieldable_phase("rewrite")""",
    )
    task = asyncio.ensure_future(ticker())
    results = await drive(host, host.H.new_request(), b"tools-test", fn, seen)
    await task
    before, after_log, after_access, after_loop, rewrite = results
    assert before == after_log == 0
    assert after_access >= 1 and after_loop == after_access
    assert rewrite is True


def test_utils_reexports_the_split_modules(host):
    got = run(
        host,
        """local utils = require "kong.tools.utils"
        local missing = {}
        for _, name in ipairs({ "kong.tools.table", "kong.tools.uuid", "kong.tools.rand", "kong.tools.time",
                                "kong.tools.string", "kong.tools.ip", "kong.tools.http" }) do
          for k, v in pairs(require(name)) do
            if utils[k] ~= v then missing[#missing + 1] = name .. "." .. k end
          end
        end
        local found, mod = utils.load_module_if_exists("kong.tools.string")
        local absent, msg = utils.load_module_if_exists("kong.plugins.tools-test.nope")
        return { missing = missing, found = found, same = mod == require("kong.tools.string"),
                 absent = absent, msg = msg:match("module 'kong.plugins.tools%-test.nope' not found") ~= nil,
                 yield = type(utils.yield) }""",
    )
    assert got == {
        "missing": {},
        "found": True,
        "same": True,
        "absent": False,
        "msg": True,
        "yield": "function",
    }


async def test_plugin_using_the_helpers_through_requests(make_gateway, echo_upstream, http):
    gw = await make_gateway(
        {
            "_format_version": "3.0",
            "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "tools-demo", "config": {"deny": ["10.0.0.0/8", "2001:db8::/32"]}}],
        },
        plugins_dirs=[LUA_PLUGINS],
    )

    async def get(path: str = "/anything", **headers: str) -> tuple[int, dict[str, str], Any]:
        async with http.get(gw.url + path, headers=headers) as resp:
            return resp.status, dict(resp.headers), await resp.json()

    status, headers, body = await get(**{"X-User": " alice ", "X-Tags": "a, b,a,,c"})
    sent = {k.lower(): v for k, v in body["headers"].items()}
    assert status == 200
    assert sent["x-consumer-username"] == "alice" and sent["x-seen-count"] == "1"
    assert sent["x-tags"] == "a|b|c"
    assert sent["x-path-sha256"] == hashlib.sha256(b"/anything").hexdigest()
    assert sent["x-https"] == "false"
    assert UUID4.fullmatch(headers["X-Kong-Request-Id-Demo"])
    assert headers["Server-Tokens"] == f"kong/{KONG_COMPAT_VERSION}"

    # the LRU cache holds two users: alice (2nd time), bob, carol (evicts alice), alice starts over
    counts = []
    for user in ["alice", "bob", "carol", "alice"]:
        counts.append((await get(**{"X-User": user}))[2]["headers"]["X-Seen-Count"])
    assert counts == ["2", "1", "1", "1"]

    assert (await get(**{"X-Test-IP": "10.2.3.4"}))[:3:2] == (403, {"message": "address denied"})
    assert (await get(**{"X-Test-IP": "2001:db8::7"}))[0] == 403
    assert (await get(**{"X-Test-IP": "11.2.3.4"}))[0] == 200
    assert (await get(**{"X-Test-IP": "999.1.1.1"}))[:3:2] == (400, {"message": "not an address: 999.1.1.1"})

    forwarded = (await get(**{"X-Forwarded-Proto": "https"}))[2]["headers"]
    assert forwarded["X-Https"] == "true"

    expires = email.utils.formatdate(time.time() + 100, usegmt=True)
    _, headers, _ = await get(**{"X-Expires": expires})
    assert headers["Expires"] == expires and 98 <= int(headers["X-TTL"]) <= 100
    _, headers, _ = await get(**{"X-Expires": email.utils.formatdate(time.time() - 100, usegmt=True)})
    assert headers["X-TTL"] == "0"
