"""schema.lua in Kong's DSL: typedefs, kong.db.schema, Lua validators, config load and conf defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lupa.luajit21 import LuaError

from host.config import load_data
from host.config.errors import ConfigError
from host.lua.loader import load_lua_plugin
from host.lua.runtime import LuaHost
from host.lua.schema import lua_schema_definition
from host.plugins.spec import PluginLoadError, PluginRegistry
from host.schema import flatten_errors, scope_flags, typedefs
from host.settings import Settings
from tests.conftest import service

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"
DEMO = LUA_PLUGINS / "kong" / "plugins" / "schema-demo"
PREFIX = "kong.yml: plugins[0] (name=schema-demo): "


@pytest.fixture
def host() -> LuaHost:
    return LuaHost()


def lua_schema(host: LuaHost, source: str) -> Any:
    """Compile ``source`` (a whole schema.lua) for plugin ``t``."""
    table = host.compile_in("t", source, "=t/schema.lua")()
    return lua_schema_definition(host, "t", "t/schema.lua", table)


def compile_schema(host: LuaHost, config_fields: str, extra: str = "", prelude: str = "") -> Any:
    """A plugin schema whose config record has ``config_fields`` (Lua source)."""
    return lua_schema(
        host,
        f"""local typedefs = require "kong.db.schema.typedefs"
        {prelude}
        return {{ name = "t", fields = {{
            {{ config = {{ type = "record", fields = {{ {config_fields} }} }} }},
            {extra}
        }} }}
        """,
    )


def errors(schema: Any, config: dict[str, Any], **entity: Any) -> list[tuple[str, str]]:
    return flatten_errors(schema.validate({"name": "t", "config": config, **entity})[1])


def run(host: LuaHost, source: str) -> Any:
    return host.compile_in("t", source)()


# -- typedefs ------------------------------------------------------------------------------


def test_typedef_validators_are_the_engines_python_validators(host):
    schema = compile_schema(host, "{ h = typedefs.header_name }, { u = typedefs.url }, { p = typedefs.path }")
    assert schema.field("config.h").attrs["custom_validator"] is typedefs.header_name["custom_validator"]
    assert schema.field("config.u").attrs["custom_validator"] is typedefs.url["custom_validator"]
    assert schema.field("config.p").attrs["custom_validator"] is typedefs.path["custom_validator"]
    assert errors(schema, {"h": "a b", "u": "nohost", "p": "/a//b"}) == [
        ("config.h", "bad header name 'a b', allowed characters are A-Z, a-z, 0-9, '_', and '-'"),
        ("config.u", "missing host in url"),
        ("config.p", "must not have empty segments"),
    ]


def test_calling_a_typedef_overrides_attributes_and_leaves_the_typedef_alone(host):
    got = run(
        host,
        """
        local typedefs = require "kong.db.schema.typedefs"
        local port = typedefs.port { default = 80 }
        local header = typedefs.header_name { required = true }
        return port.default, port.between[2], typedefs.port.default, header.required, header.type
        """,
    )
    assert got == (80, 65535, None, True, b"string")
    schema = compile_schema(host, "{ port = typedefs.port { default = 8000 } }")
    assert schema.validate({"name": "t", "config": {}})[0]["config"] == {"port": 8000}
    assert errors(schema, {"port": 70000}) == [("config.port", "value should be between 0 and 65535")]


def test_reading_an_unknown_typedef_raises_with_kongs_message(host):
    with pytest.raises(LuaError, match="schema typedef error: definition no_such_thing does not exist"):
        run(host, 'return require("kong.db.schema.typedefs").no_such_thing')


def test_typedef_validators_can_be_called_from_lua(host):
    got = run(
        host,
        """
        local typedefs = require "kong.db.schema.typedefs"
        local ok1 = typedefs.host.custom_validator("example.com")
        local ok2, err2 = typedefs.header_name.custom_validator("bad name")
        local ok3, err3 = typedefs.ip_or_cidr.custom_validator("300.1.1.1")
        return ok1, ok2, err2, ok3, err3
        """,
    )
    assert got == (
        True,
        None,
        b"bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
        None,
        b"invalid ip or cidr range: '300.1.1.1'",
    )


KONG_TYPEDEFS = {
    "no_consumer": "foreign", "no_route": "foreign", "no_service": "foreign", "protocols": "set",
    "protocols_http": "set", "header_name": "string", "host": "string", "hosts": "array",
    "host_with_optional_port": "string", "port": "integer", "path": "string", "url": "string",
    "ip": "string", "ip_or_cidr": "string", "cidr": "string", "cidr_v4": "string", "cidr_v6": "string",
    "lua_code": "map", "timeout": "integer", "ttl": "number", "uuid": "string", "http_method": "string",
    "name": "string", "utf8_name": "string", "tags": "set", "tag": "string", "certificate": "string",
    "key": "string", "sni": "string", "semantic_version": "string", "queue": "record",
    "propagation": "record", "redis_host": "string", "redis_server_name": "string",
    "auto_timestamp_s": "integer", "wildcard_host": "string", "cookie_name": "string", "pem": "record",
    "jwk": "record", "capability": "string",
}  # fmt: skip


def test_every_typedef_kongs_plugins_use_is_provided(host):
    names = list(KONG_TYPEDEFS)
    listed = "{" + ", ".join(f'"{n}"' for n in names) + "}"
    types = run(
        host,
        f"""local typedefs = require "kong.db.schema.typedefs"
        local out = {{}}
        for i, name in ipairs({listed}) do out[i] = typedefs[name].type end
        return out""",
    )
    assert dict(zip(names, [v.decode() for v in types.values()], strict=True)) == KONG_TYPEDEFS
    usable = [n for n in names if n not in ("no_consumer", "no_route", "no_service", "tag")]
    schema = compile_schema(host, ", ".join(f"{{ {n} = typedefs.{n} }}" for n in usable))
    defaults = schema.validate({"name": "t", "config": {}})[0]["config"]
    assert defaults["queue"]["max_batch_size"] == 1
    assert defaults["protocols_http"] == ["grpc", "grpcs", "http", "https"]
    assert errors(schema, {"propagation": {"extract": ["zipkin"], "default_format": "w3c"}}) == [
        ("config.propagation.extract[0]", "expected one of: w3c, b3, jaeger, ot, datadog, aws, gcp, instana")
    ]
    bad = {
        "semantic_version": "1..2",
        "sni": "a.test:80",
        "ttl": -1,
        "propagation": {"default_format": "w3c"},
    }
    assert errors(schema, bad) == [
        ("config.ttl", "value should be between 0 and 100000000"),
        ("config.sni", "must not have a port"),
        ("config.semantic_version", "must not have empty version segments"),
    ]


def test_no_consumer_no_route_no_service_set_the_scope_flags(host):
    schema = compile_schema(
        host,
        "",
        extra="{ consumer = typedefs.no_consumer }, { route = typedefs.no_route }, "
        "{ service = typedefs.no_service },",
    )
    assert scope_flags(schema) == (True, True, True)
    assert schema.field("consumer").attrs["eq"] is None
    consumer = {"id": "8a2c2f4e-0a0d-4b1e-9b0a-2f0c5e6d7a8b"}
    assert errors(schema, {}, consumer=consumer) == [("consumer", "value must be null")]
    assert scope_flags(compile_schema(host, "")) == (False, False, False)


# -- Lua functions in schemas --------------------------------------------------------------


def test_lua_custom_validator_results_map_to_kongs_messages(host):
    schema = compile_schema(
        host,
        """
        { a = { type = "string", custom_validator = function(v) return v == "ok" end } },
        { b = { type = "integer", custom_validator = function(v)
                  if v % 2 == 0 then return true end
                  return nil, "must be even, got " .. v end } },
        { c = { type = "string", custom_validator = function(v) return false, "no " .. v end } },
        { d = { type = "string", custom_validator = function(v) error("boom") end } },
        { e = { type = "string", custom_validator = function(v) return ({ zero = 0, empty = "", tbl = {} })[v] end } },
        """,
    )
    assert errors(schema, {"a": "ok", "b": 4}) == []
    # Lua's truth: whatever is not nil or false passes
    assert [errors(schema, {"a": "ok", "e": v}) for v in ("zero", "empty", "tbl")] == [[], [], []]
    assert errors(schema, {"a": "ok", "e": "missing"}) == [("config.e", "failed validating: missing")]
    assert errors(schema, {"a": "x", "b": 3, "c": "way", "d": "y"}) == [
        ("config.a", "failed validating: x"),
        ("config.b", "must be even, got 3"),
        ("config.c", "no way"),
        ("config.d", "custom validator failed: LuaError: t/schema.lua:10: boom"),
    ]


def test_record_validator_sees_the_whole_record_with_null_for_unset_fields(host):
    schema = lua_schema(
        host,
        """
        local function check(config)
          if config.b == ngx.null then return nil, "b unset, a is " .. tostring(config.a) end
          return true
        end
        return { name = "t", fields = { { config = { type = "record", custom_validator = check,
          fields = { { a = { type = "number" } }, { b = { type = "number" } } } } } } }
        """,
    )
    assert errors(schema, {"a": 1}) == [("config", "b unset, a is 1")]
    assert errors(schema, {"a": 1, "b": 2}) == []
    # a record with field errors is not handed to its validator (Kong's order)
    assert errors(schema, {"a": "x"}) == [("config.a", "expected a number")]


def test_custom_entity_check_gets_nested_fields_and_null(host):
    schema = lua_schema(
        host,
        """
        return { name = "t", fields = {
          { config = { type = "record", fields = {
              { mode = { type = "string", default = "a" } }, { extra = { type = "string" } } } } } },
          entity_checks = { { custom_entity_check = {
              field_sources = { "config.mode", "config.extra" },
              fn = function(entity)
                if entity.config.extra == ngx.null then
                  return nil, "extra is needed in mode " .. entity.config.mode
                end
                return true
              end } } } }
        """,
    )
    assert errors(schema, {}) == [("@entity", "extra is needed in mode a")]
    assert errors(schema, {"extra": "x"}) == []


def test_shorthand_field_func_written_in_lua(host):
    schema = lua_schema(
        host,
        """
        local typedefs = require "kong.db.schema.typedefs"
        return { name = "t", fields = { { config = { type = "record",
          fields = { { host = { type = "string" } }, { port = typedefs.port { default = 80 } } },
          shorthand_fields = { { address = { type = "string", func = function(value)
            local h, p = value:match("^(.-):(%d+)$")
            return { host = h, port = tonumber(p) }
          end } } } } } } }
        """,
    )
    normalized, errs = schema.validate({"name": "t", "config": {"address": "db.test:5432"}})
    assert errs == {}
    assert normalized["config"] == {"host": "db.test", "port": 5432}
    assert errors(schema, {"address": 5}) == [("config.address", "expected a string")]


def test_defaults_follow_the_field_type(host):
    schema = compile_schema(
        host,
        """
        { list = { type = "array", elements = { type = "string" }, default = {} } },
        { tags = { type = "set", elements = { type = "string" }, default = { "a", "b" } } },
        { map = { type = "map", keys = { type = "string" }, values = { type = "integer" }, default = {} } },
        { rec = { type = "record", default = { n = 1, items = {} }, fields = {
            { n = { type = "integer" } }, { items = { type = "array", elements = { type = "string" } } } } } },
        """,
    )
    assert schema.validate({"name": "t", "config": {}})[0]["config"] == {
        "list": [],
        "tags": ["a", "b"],
        "map": {},
        "rec": {"n": 1, "items": []},
    }


# -- kong.db.schema and kong.tools.redis.schema ---------------------------------------------


def test_schema_module_define_and_validators(host):
    got = run(
        host,
        """
        local Schema = require "kong.db.schema"
        local v = Schema.validators
        local def = Schema.define { type = "string", len_min = 2 }
        local derived = def { required = true }
        return v.is_regex("^a+$"), v.is_regex("(("), select(2, v.between(11, { 1, 10 })),
               select(2, v.one_of("x", { "a", "b" })), select(2, v.match("a b", "^%w+$")),
               select(2, v.len_min("a", 2)), derived.len_min, derived.required, #Schema.validators_order
        """,
    )
    assert got == (
        True,
        False,
        b"value should be between 1 and 10",
        b"expected one of: a, b",
        b"invalid value: a b",
        b"length must be at least 2",
        2,
        True,
        21,
    )


def test_redis_config_schema_defaults(host):
    schema = compile_schema(
        host, "{ redis = redis.config_schema }", prelude='local redis = require "kong.tools.redis.schema"'
    )
    assert schema.validate({"name": "t", "config": {}})[0]["config"]["redis"] == {
        "host": None,
        "port": 6379,
        "timeout": 2000,
        "username": None,
        "password": None,
        "database": 0,
        "ssl": False,
        "ssl_verify": False,
        "server_name": None,
    }
    assert errors(schema, {"redis": {"host": "a:1", "server_name": "1.2.3.4"}}) == [
        ("config.redis.host", "must not have a port"),
        ("config.redis.server_name", "must not be an IP"),
    ]


def test_lua_code_must_compile_and_respects_untrusted_lua_off():
    host = LuaHost()
    schema = compile_schema(host, "{ code = typedefs.lua_code }")
    assert errors(schema, {"code": {"f": "return 1"}}) == []
    assert errors(schema, {"code": {"f": "x ="}}) == [
        ("config.code", "Error parsing function: [string \"x =\"]:1: unexpected symbol near '<eof>'")
    ]
    off = LuaHost(Settings(untrusted_lua="off"))
    schema = compile_schema(off, "{ code = typedefs.lua_code }")
    assert errors(schema, {"code": {"f": "return 1"}}) == [
        (
            "config.code",
            "Error parsing function: loading of untrusted Lua code disabled because "
            "'untrusted_lua' config option is set to 'off'",
        )
    ]


# -- a plugin's schema.lua through the loader and the declarative config ----------------------


def test_bad_schemas_fail_to_load_naming_the_field(host, tmp_path):
    def load(schema_lua: str) -> str:
        folder = tmp_path / "kong" / "plugins" / "broken"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "handler.lua").write_text('return { PRIORITY = 1, VERSION = "1.0.0" }')
        (folder / "schema.lua").write_text(schema_lua)
        with pytest.raises(PluginLoadError) as info:
            load_lua_plugin(host, "broken", folder)
        return info.value.reason

    record = 'return { name = "broken", fields = { { config = { type = "record", fields = { %s } } } } }'
    assert (
        load(record % '{ ttl = { type = "intger" } }')
        == "invalid schema: schema 'broken': config.ttl: invalid type: intger"
    )
    assert load(record % '{ a = { type = "string" }, b = { type = "string" } }') == (
        "invalid schema: config: entry 1 of 'fields' must be a table holding one { name = definition }"
    )
    assert load(record % '{ n = { type = "number", between = { 1 } } }') == (
        "invalid schema: schema 'broken': config.n: invalid argument for validator 'between': [1]"
    )
    assert load(record % '{ n = { type = "integer", default = "x" } }') == (
        "invalid schema: broken: config.n: invalid default 'x': expected an integer"
    )
    assert load('return "nope"') == "invalid schema: schema.lua must return a table, got string"
    assert load('local typedefs = require "kong.db.schema.typedefs" return typedefs.nope').endswith(
        "schema typedef error: definition nope does not exist"
    )


@pytest.fixture
def registry(host) -> PluginRegistry:
    spec = load_lua_plugin(host, "schema-demo", DEMO)
    registry = PluginRegistry([spec])
    registry.lua = host
    return registry


def load_demo(registry: PluginRegistry, config: dict[str, Any], **plugin: Any) -> Any:
    data = {"_format_version": "3.0", "plugins": [{"name": "schema-demo", "config": config, **plugin}]}
    return load_data(data, registry, source="kong.yml").plugins[0]


def config_errors(registry: PluginRegistry, config: dict[str, Any], **plugin: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_demo(registry, config, **plugin)
    return [line.removeprefix(PREFIX) for line in info.value.errors]


def test_demo_plugin_is_consumer_free(registry):
    spec = registry.get("schema-demo")
    assert (spec.no_consumer, spec.no_route, spec.no_service) == (True, False, False)


def test_demo_defaults_are_filled_in(registry):
    plugin = load_demo(registry, {"minute": 5, "upstreams": [{"host": "a.test"}]})
    config = plugin["config"]
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]
    assert {k: config[k] for k in ("echo_header", "mode", "ratio", "retries", "prefix", "batch")} == {
        "echo_header": "X-Demo-Mode",
        "mode": "fast",
        "ratio": 0.5,
        "retries": 3,
        "prefix": "/api",
        "batch": 2,
    }
    assert (config["verbose"], config["methods"], config["origins"], config["timeout"]) == (
        False, ["GET", "HEAD"], [], 60000,
    )  # fmt: skip
    assert config["hour"] is None and config["token"] is None
    assert config["upstreams"] == [{"host": "a.test", "port": 80, "weight": 100}]
    assert config["cache"]["strategy"] == "memory" and config["cache"]["ttl"] == 300
    assert config["cache"]["redis"]["port"] == 6379 and config["cache"]["redis"]["timeout"] == 2000


def test_demo_field_validators_use_kongs_messages(registry):
    config = {
        "minute": 5, "upstream_url": "http://x.test", "mode": "slow", "ratio": 2, "retries": 11, "token": "a-",
        "prefix": "/v1", "label": "a b", "request_id": "nope", "batch": 3, "verbose": "yes", "methods": ["get"],
        "origins": ["*", "(("], "extra_headers": {"bad name": "x"}, "timeout": -1, "code": {"f": "x ="},
        "hour": "soon", "nope": 1,
    }  # fmt: skip
    assert config_errors(registry, config) == [
        "config.mode: expected one of: fast, safe",
        "config.hour: expected a number",
        "config.ratio: value should be between 0 and 1",
        "config.retries: value should be between 0 and 10",
        "config.token: length must be at least 4",
        "config.prefix: should start with: /api",
        "config.label: must not contain whitespace",
        "config.request_id: expected a valid UUID",
        "config.batch: must be an even number",
        "config.verbose: expected a boolean",
        "config.methods[0]: invalid value: get",
        "config.origins[1]: '((' is not a valid regex",
        "config.extra_headers: bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
        "config.timeout: value should be between 0 and 2147483646",
        "config.code: Error parsing function: [string \"x =\"]:1: unexpected symbol near '<eof>'",
        "config.nope: unknown field",
    ]
    assert config_errors(registry, {"minute": 0, "token": "abcdefghijklmnopq", "upstream_url": "x"}) == [
        "config.minute: value must be greater than 0",
        "config.token: length must be at most 16",
        "config.upstream_url: missing host in url",
    ]
    assert config_errors(
        registry, {"minute": 1, "token": "a_b!", "upstream_url": "http://x", "methods": "GET"}
    ) == [
        "config.token: invalid value: a_b!",
        "config.methods: expected a set",
    ]


def test_demo_nested_records_and_arrays_of_records(registry):
    config = {
        "hour": 2,
        "upstreams": [{"port": 99999}, {"host": "b.test", "weight": "x"}],
        "cache": {"ttl": -1},
    }
    assert config_errors(registry, config) == [
        "config.upstreams[0].host: required field missing",
        "config.upstreams[0].port: value should be between 0 and 65535",
        "config.upstreams[1].weight: expected an integer",
        "config.cache.ttl: value should be between 0 and 100000000",
    ]
    assert config_errors(registry, {"hour": 2, "upstreams": {"host": "a"}, "cache": 5}) == [
        "config.upstreams: expected an array",
        "config.cache: expected a record",
    ]


def test_demo_entity_checks(registry):
    assert config_errors(registry, {}) == [
        "config: at least one of these fields must be non-empty: 'minute', 'hour'",
        "config: exactly one of these fields must be non-empty: 'upstream_url', 'upstreams'",
    ]
    base = {"hour": 2, "upstream_url": "http://x.test"}
    assert config_errors(
        registry,
        {
            **base,
            "allow": ["10.0.0.0/8"],
            "deny": ["1.2.3.4"],
            "primary_header": "X-A",
            "secondary_header": "X-A",
        },
    ) == [
        "config: only one or none of these fields must be set: 'allow', 'deny'",
        "config: values of these fields must be distinct: 'primary_header', 'secondary_header'",
    ]
    assert config_errors(registry, {**base, "mode": "safe", "retries": 0}) == [
        "config.retries: value should be between 1 and 5",
        "config: failed conditional validation given value of field 'mode'",
        "config.token: required field missing",
        "failed conditional validation given value of field 'config.mode'",
        "safe mode requires https only",
    ]
    assert (
        load_demo(registry, {**base, "mode": "safe", "token": "s3cret"}, protocols=["https"])["config"][
            "mode"
        ]
        == "safe"
    )
    assert config_errors(registry, {**base, "cache": {"strategy": "redis"}}) == [
        "config: the redis strategy needs cache.redis.host"
    ]
    assert config_errors(registry, {**base, "minute": 3}) == [
        "config: the limit per hour (2) cannot be lower than the limit per minute (3)"
    ]
    assert config_errors(registry, base, consumer={"id": "8a2c2f4e-0a0d-4b1e-9b0a-2f0c5e6d7a8b"})[-1] == (
        "consumer: value must be null"
    )


def test_demo_shorthand_field(registry):
    cache = load_demo(registry, {"hour": 2, "upstream_url": "http://x.test", "redis_host": "r.test"})[
        "config"
    ]["cache"]
    assert (cache["strategy"], cache["redis"]["host"], cache["redis"]["port"]) == ("redis", "r.test", 6379)
    assert config_errors(registry, {"hour": 2, "upstream_url": "http://x.test", "redis_host": 1}) == [
        "config.redis_host: expected a string"
    ]


async def test_defaults_reach_the_handlers_conf(make_gateway, echo_upstream, http):
    gw = await make_gateway(
        {
            "_format_version": "3.0",
            "services": [
                {
                    **service(echo_upstream),
                    "routes": [{"name": "a", "paths": ["/a"]}, {"name": "b", "paths": ["/b"]}],
                }
            ],
            "plugins": [
                {
                    "name": "schema-demo",
                    "route": "a",
                    "config": {"minute": 10, "upstreams": [{"host": "u.test"}]},
                },
                {
                    "name": "schema-demo",
                    "route": "b",
                    "config": {
                        "hour": 5,
                        "upstream_url": "http://x.test",
                        "echo_header": "X-Mode-Is",
                        "redis_host": "r.test",
                        "methods": ["POST"],
                        "ratio": 0.25,
                    },
                },  # fmt: skip
            ],
        },
        plugins_dirs=[LUA_PLUGINS],
    )
    async with http.get(gw.url + "/a") as resp:
        assert resp.status == 200
        assert {k: resp.headers.get(k) for k in ("X-Demo-Mode", "X-Demo-Methods", "X-Demo-Retries")} == {
            "X-Demo-Mode": "fast",
            "X-Demo-Methods": "GET,HEAD",
            "X-Demo-Retries": "3",
        }
        assert resp.headers["X-Demo-Ratio"] == "0.5"
        assert resp.headers["X-Demo-Upstream-Port"] == "80"
        assert resp.headers["X-Demo-Cache"] == "memory/300/6379"
        assert resp.headers["X-Demo-Redis-Host"] == "none"
    async with http.get(gw.url + "/b") as resp:
        assert resp.status == 200
        assert resp.headers["X-Mode-Is"] == "fast"
        assert "X-Demo-Mode" not in resp.headers
        assert resp.headers["X-Demo-Methods"] == "POST"
        assert resp.headers["X-Demo-Ratio"] == "0.25"
        assert resp.headers["X-Demo-Upstream-Port"] == "none"
        assert resp.headers["X-Demo-Cache"] == "redis/300/6379"
        assert resp.headers["X-Demo-Redis-Host"] == "r.test"
