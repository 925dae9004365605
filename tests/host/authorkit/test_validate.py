"""``moongate plugin validate`` and ``info``: every problem with its file and line."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.host.authorkit._support import cli, lua_plugin, new_plugin

GOOD_HANDLER = """-- fine
local H = { PRIORITY = 10, VERSION = "1.0.0" }
function H:access(conf) end
return H
"""


def problems_of(path, *extra):
    result = cli("plugin", "validate", path, "--json", *extra)
    data = json.loads(result.stdout)
    assert result.exit_code == (1 if data["problems"] else 0)
    return [(p["file"].rsplit("/", 1)[-1], p["line"], p["message"]) for p in data["problems"]]


def test_scaffolded_plugins_are_valid(tmp_path):
    for lang in ("lua", "python"):
        result = cli("plugin", "validate", new_plugin(tmp_path, f"ok-{lang}", lang))
        assert result.exit_code == 0, result.output
        assert result.stdout == f"ok-{lang} 0.1.0 ({lang}): ok\n"


def test_lua_problems_each_with_file_and_line(tmp_path):
    folder = lua_plugin(
        tmp_path,
        "broken",
        """-- several mistakes
local cjson = require "cjson"
local gone = require "resty.not_provided"
local helper = require "kong.plugins.broken.helper"
local Handler = {
  PRIORITY = "high",
  VERSION = "1.0.0",
}

function Handler:acess(conf)
end

return Handler
""",
    )
    (folder / "helper.lua").write_text("local x = \nreturn {}\n")
    found = problems_of(folder)
    assert found[0] == ("helper.lua", 2, "syntax error: unexpected symbol near 'return'")
    assert found[1][:2] == ("handler.lua", 10)
    assert found[1][2].startswith("unknown phase 'acess' (did you mean 'access'?)")
    assert found[2] == (
        "handler.lua",
        3,
        "require 'resty.not_provided': module not found: Moongate does not provide it",
    )
    assert len(found) == 3  # a file that does not compile is not loaded: no second report of it

    (folder / "helper.lua").write_text("return {}\n")
    (folder / "handler.lua").write_text(
        (folder / "handler.lua").read_text().replace('require "resty.not_provided"', "nil")
    )
    assert problems_of(folder)[1] == ("handler.lua", 6, "PRIORITY must be an integer, got 'high'")


def test_lua_schema_error_names_the_field_line(tmp_path):
    folder = lua_plugin(
        tmp_path,
        "bad-schema",
        GOOD_HANDLER,
        """-- a typo in a type
return { name = "bad-schema", fields = { { config = { type = "record", fields = {
  { ok = { type = "string" } },
  { size = { type = "numbr" } },
} } } } }
""",
    )
    [(file, line, message)] = problems_of(folder)
    assert (file, line) == ("schema.lua", 4)
    assert "config.size: invalid type: numbr" in message


def test_sandboxed_load_reports_violations(tmp_path):
    folder = lua_plugin(
        tmp_path,
        "spinner",
        "-- spins while loading\nwhile true do end\nreturn { PRIORITY = 1, VERSION = '1.0.0' }\n",
    )
    [(file, _line, message)] = problems_of(folder, "--trust", "sandboxed")
    assert file == "handler.lua"
    assert "CPU budget" in message and "exceeded while loading" in message


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        (
            'PRIORITY = 1\nVERSION = "1.0.0"\nimport not_a_real_dependency_xyz\n',
            3,
            "missing Python dependency 'not_a_real_dependency_xyz'",
        ),
        (
            'PRIORITY = 1\nVERSION = "1.0.0"\n\n\ndef acess(kong, conf):\n    pass\n',
            5,
            "method 'acess' is not a phase (did you mean 'access'?)",
        ),
        ('PRIORITY = 1\nVERSION = "one"\n', 2, "VERSION must be a version string like '1.0.0', got 'one'"),
        (
            'PRIORITY = 1\nVERSION = "1.0.0"\ndef access(kong, conf)\n    pass\n',
            3,
            "syntax error: expected ':'",
        ),
        (
            'PRIORITY = 1\nVERSION = "1.0.0"\nSCHEMA = [\n    {"n": {"type": "intger"}},\n]\n',
            4,
            "config.n: invalid type: intger",
        ),
    ],
)
def test_python_problems_with_line(tmp_path, source, line, message):
    path = tmp_path / "my_plugin.py"
    path.write_text(source)
    [(file, found_line, found)] = problems_of(path)
    assert (file, found_line) == ("my_plugin.py", line)
    assert message in found


def test_metadata_must_agree_with_the_plugin(tmp_path):
    project = new_plugin(tmp_path, "greeter", "lua")
    meta = project / "plugin.yaml"
    meta.write_text(
        meta.read_text()
        .replace('version: "0.1.0"', 'version: "0.2.0"')
        .replace("[http, https]", "[http, gopher]")
    )
    found = problems_of(project)
    assert (
        "plugin.yaml",
        11,
        "protocols: unknown value(s) gopher (allowed: http, https, grpc, grpcs, tcp, tls, "
        "tls_passthrough, udp, ws, wss)",
    ) in found
    meta.write_text(meta.read_text().replace("gopher", "https"))
    assert problems_of(project) == [
        ("plugin.yaml", None, "version: '0.2.0' but the plugin's VERSION is '0.1.0'")
    ]


def test_info_json_schema_is_valid_draft_2020_12(tmp_path):
    project = new_plugin(tmp_path, "greeter", "python")
    result = cli("plugin", "info", project, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert {k: info[k] for k in ("name", "version", "priority", "phases", "language")} == {
        "name": "greeter",
        "version": "0.1.0",
        "priority": 1000,
        "phases": ["access", "header_filter"],
        "language": "python",
    }
    schema = info["schema"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"message": "hi"})
    assert not validator.is_valid({"mesage": "hi"})
    assert not validator.is_valid({"message": 3})
    assert info["metadata"]["requires-gateway"].startswith(">=")


def test_info_by_name_of_a_bundled_plugin():
    result = cli("plugin", "info", "key-auth", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert (info["name"], info["language"], info["priority"]) == ("key-auth", "lua", 1250)
    jsonschema.Draft202012Validator.check_schema(info["schema"])
    assert "key_names" in info["schema"]["properties"]
    missing = cli("plugin", "info", "no-such-plugin")
    assert missing.exit_code == 1 and "no plugin named 'no-such-plugin'" in missing.stderr
