"""Plugins written for Kong's Python PDK (kong-python-pdk) run unmodified, in-process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import pytest

GREETER = """
#!/usr/bin/env python3
import kong_pdk.pdk.kong as kong

Schema = (
    {"message": {"type": "string"}},
)

version = "0.2.0"
priority = 900

created = []


class Plugin(object):
    def __init__(self, config):
        self.config = config
        created.append(config)

    def access(self, kong: kong.kong):
        host, err = kong.request.get_header("host")
        headers, err2 = kong.request.get_headers()
        kong.log.info("greeting ", host, " ", 42)
        message = self.config.get("message") or "hello"
        kong.response.set_header("x-greeting", "%s, %s" % (message, host))
        kong.response.set_header("x-header-count-ok", str(err2 is None and "host" in headers))
        kong.response.set_header("x-instances", str(len(created)))
        kong.ctx.shared.set("greeted", host)


if __name__ == "__main__":
    from kong_pdk.cli import start_dedicated_server
    start_dedicated_server("greeter", Plugin, version, priority, Schema)
"""

GATE = """
Schema = ({"required_header": {"type": "string", "default": "x-token"}},)
version = "1.0.0"
priority = 1000


class Plugin:
    def __init__(self, config):
        self.config = config

    def access(self, kong):
        token, err = kong.request.get_header(self.config["required_header"])
        if not token:
            kong.response.exit(403, {"message": "no token"}, {"x-gate": "closed"})
            kong.response.set_header("x-after-exit", "ran")  # never runs: exit ends the handler
        _, err = kong.request.get_header(42)  # a PDK error comes back as err (Lua style)
        kong.service.request.set_header("x-gate-error", err or "none")
"""

READER = """
import kong_pdk.pdk.kong as kong

Schema = ()
version = "1.0.0"
priority = 10


class Plugin:
    def __init__(self, config):
        pass

    def response(self, kong: kong.kong):
        greeted, err = kong.ctx.shared.get("greeted")
        status, err = kong.response.get_status()
        kong.response.set_header("x-shared-seen", "%s/%s" % (greeted, status))

    def log(self, kong):
        kong.log.notice("logged ", kong.request.get_path()[0])
"""

STRICT = """
from kong_pdk.exception import PDKException

Schema = ()
version = "1.0.0"
priority = 5


class Plugin:
    def __init__(self, config):
        pass

    def access(self, kong):
        path = kong.request.get_path()
        try:
            kong.request.get_header(42)
            outcome = "no error"
        except PDKException as exc:
            outcome = "raised " + type(exc).__name__
        kong.response.set_header("x-strict", "%s %s" % (path, outcome))
"""


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("kong-python-pdk")
    (root / "py-greeter.py").write_text(textwrap.dedent(GREETER).lstrip())
    (root / "gate.py").write_text(textwrap.dedent(GATE))
    (root / "reader.py").write_text(textwrap.dedent(READER))
    (root / "strict.py").write_text(textwrap.dedent(STRICT))
    return root


def config(upstream_url, plugins):
    return {
        "_format_version": "3.0",
        "services": [{"name": "s", "url": upstream_url, "routes": [{"name": "r", "paths": ["/"]}]}],
        "plugins": plugins,
    }


async def test_plugin_runs_unmodified_with_lua_style_returns(
    make_gateway, echo_upstream, http, plugin_dir, caplog
):
    plugins = [{"name": "py-greeter", "config": {"message": "hi"}}, {"name": "reader"}]
    gw = await make_gateway(config(echo_upstream.url, plugins), plugins_dirs=[plugin_dir])
    caplog.set_level("INFO")
    for _ in range(3):
        async with http.get(gw.url + "/", headers={"Host": "example.test"}) as resp:
            assert resp.status == 200
            assert resp.headers["x-greeting"] == "hi, example.test"
            assert resp.headers["x-header-count-ok"] == "True"
            assert resp.headers["x-instances"] == "1"  # one Plugin(config) per configuration
            assert resp.headers["x-shared-seen"] == "example.test/200"  # kong.ctx.shared across plugins
    await asyncio.sleep(0.05)
    messages = [r.getMessage() for r in caplog.records]
    assert any("greeting example.test 42" in m for m in messages)  # kong.log.* arguments coerced
    assert any("logged /" in m for m in messages)


async def test_exit_ends_the_handler_and_errors_come_back_as_err(
    make_gateway, echo_upstream, http, plugin_dir
):
    gw = await make_gateway(config(echo_upstream.url, [{"name": "gate"}]), plugins_dirs=[plugin_dir])
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 403
        assert await resp.json() == {"message": "no token"}
        assert resp.headers["x-gate"] == "closed"
        assert "x-after-exit" not in resp.headers
    async with http.get(gw.url + "/", headers={"x-token": "t"}) as resp:
        assert resp.status == 200
        sent = (await resp.json())["headers"]
        assert "header name must be a string" in sent["x-gate-error"]


async def test_config_changes_make_a_new_instance(make_gateway, echo_upstream, http, plugin_dir):
    gw = await make_gateway(
        config(echo_upstream.url, [{"name": "py-greeter", "config": {"message": "a"}}]),
        plugins_dirs=[plugin_dir],
    )
    async with http.get(gw.url + "/") as resp:
        before = int(resp.headers["x-instances"])
    registry = gw.gateway.registry
    from host.config import load_data

    new = load_data(
        config(echo_upstream.url, [{"name": "py-greeter", "config": {"message": "b"}}]),
        registry,
        source="t.yml",
    )
    await gw.gateway.apply(new)
    async with http.get(gw.url + "/") as resp:
        assert resp.headers["x-greeting"].startswith("b, ")
        assert int(resp.headers["x-instances"]) == before + 1


async def test_no_lua_style_returns_values_and_raises(make_gateway, echo_upstream, http, plugin_dir):
    gw = await make_gateway(
        config(echo_upstream.url, [{"name": "strict"}]),
        plugins_dirs=[plugin_dir],
        kong_python_pdk_lua_style=False,
    )
    async with http.get(gw.url + "/x") as resp:
        assert resp.headers["x-strict"] == "/x raised PDKException"


def test_listed_under_its_file_name_with_kongs_metadata(plugin_dir):
    out = subprocess.run(
        [sys.executable, "-m", "host.cli", "plugins", "list", "--json", "--plugins-dir", str(plugin_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = {row["name"]: row for row in json.loads(out)["plugins"]}
    assert rows["py-greeter"] == {
        "name": "py-greeter",
        "language": "python",
        "version": "0.2.0",
        "priority": 900,
        "phases": ["access"],
    }
    assert rows["reader"]["phases"] == ["response", "log"]


def test_schema_validates_config(plugin_dir):
    from host.config import ConfigError, load_data
    from host.gateway import build_registry
    from host.settings import Settings

    registry = build_registry(Settings(plugins_dirs=[str(plugin_dir)]))
    with pytest.raises(ConfigError) as err:
        load_data(config("http://127.0.0.1:9", [{"name": "py-greeter", "config": {"message": 5}}]), registry)
    assert "config.message: expected a string" in err.value.errors[0]


def test_running_the_file_directly_explains_moongate_runs_it_in_process(plugin_dir):
    from host.plugins.kong_python_pdk import install_fallback

    install_fallback()
    env_path = ":".join(p for p in sys.path if p)
    proc = subprocess.run(
        [sys.executable, str(plugin_dir / "py-greeter.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": env_path},
    )
    assert proc.returncode == 1
    assert "runs kong-python-pdk plugins in-process" in proc.stderr


DOCS = __import__("pathlib").Path(__file__).resolve().parents[3] / "sdk-docs"


def test_migration_page_quotes_its_example_verbatim():
    example = (DOCS / "examples" / "kong-python-pdk" / "py-greet.py").read_text()
    assert f"```python\n{example}```" in (DOCS / "migrating-from-kong-python-pdk.md").read_text()


async def test_migration_page_example_runs(make_gateway, echo_upstream, http):
    plugins = [{"name": "py-greet", "config": {"greeting": "hi"}}]
    gw = await make_gateway(
        config(echo_upstream.url, plugins), plugins_dirs=[DOCS / "examples" / "kong-python-pdk"]
    )
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 400
        assert await resp.json() == {"message": "who are you?"}
    async with http.get(gw.url + "/", headers={"x-name": "ann"}) as resp:
        assert resp.headers["x-greeting"] == "hi, ann"
