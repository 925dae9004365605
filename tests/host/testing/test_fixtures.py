"""The pytest plugin's fixtures, used the way a plugin author uses them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from host.config import ConfigError

DOCS = Path(__file__).resolve().parents[3] / "sdk-docs"

ECHO_PLUGIN = """
PRIORITY = 1000
VERSION = "1.0.0"
SCHEMA = [{"header": {"type": "string", "default": "x-echo"}}]


class Plugin:
    def access(self, kong, conf):
        value = kong.request.get_header(conf["header"])
        if value is None:
            return kong.response.exit(401, {"message": "missing " + conf["header"]})
        kong.service.request.set_header("x-seen", value)
        kong.response.set_header("x-echoed", value)
        kong.ctx.shared["echoed"] = value
"""


@pytest.fixture(scope="module")
def plugin_module(tmp_path_factory):
    root = tmp_path_factory.mktemp("author")
    (root / "echo_header.py").write_text(textwrap.dedent(ECHO_PLUGIN))
    sys.path.insert(0, str(root))
    try:
        yield root, __import__("echo_header")
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("echo_header", None)


async def test_gateway_and_mock_upstream(gateway, mock_upstream, plugin_module):
    root, _ = plugin_module
    gw = await gateway.start(plugins=[{"name": "echo-header"}], plugins_dirs=[root])
    refused = await gw.get("/x")
    assert refused.status == 401 and refused.json() == {"message": "missing x-echo"}
    assert mock_upstream.requests == []  # the upstream never saw the refused request
    ok = await gw.get("/x?a=1", headers={"x-echo": "hi"})
    assert ok.status == 200 and ok.headers["x-echoed"] == "hi"
    (seen,) = mock_upstream.requests
    assert (seen.method, seen.path, seen.query, seen.headers["x-seen"]) == ("GET", "/x", "a=1", "hi")


async def test_reload_and_invalid_config(gateway, plugin_module):
    root, _ = plugin_module
    gw = await gateway.start(plugins=[{"name": "echo-header"}], plugins_dirs=[root])
    await gw.reload(
        {
            "_format_version": "3.0",
            "services": [{"name": "s", "url": gateway.upstream.url, "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "echo-header", "config": {"header": "x-other"}}],
        }
    )
    assert (await gw.get("/", headers={"x-other": "1"})).headers["x-echoed"] == "1"
    with pytest.raises(ConfigError) as err:
        await gateway.start(plugins=[{"name": "echo-header", "config": {"headr": "x"}}], plugins_dirs=[root])
    assert err.value.errors == ["test config: plugins[0] (name=echo-header): config.headr: unknown field"]


def test_fake_kong_runs_one_handler_with_the_real_pdk(fake_kong, plugin_module):
    _, module = plugin_module
    fk = fake_kong(path="/orders", headers={"x-echo": "v"})
    fk.run(module.Plugin(), "access", {"header": "x-echo"})
    assert not fk.exited
    assert fk.response_headers["x-echoed"] == "v"
    assert fk.service_headers["x-seen"] == "v"
    assert fk.shared == {"echoed": "v"}

    refused = fake_kong()
    refused.run(module.Plugin(), "access", {"header": "x-echo"})
    assert refused.exited and refused.status == 401
    assert refused.body == {"message": "missing x-echo"}


def test_fake_kong_checks_phases(fake_kong):
    class LogOnly:
        def log(self, kong, conf):
            kong.response.set_header("x-too-late", "1")  # not allowed in log: Kong raises

    fk = fake_kong()
    with pytest.raises(Exception, match="set_header"):
        fk.run(LogOnly(), "log")


async def test_fake_kong_async_handler(fake_kong):
    class Async:
        async def access(self, kong, conf):
            kong.response.set_header("x-async", kong.request.get_method())

    fk = fake_kong(method="post")
    await fk.arun(Async(), "access")
    assert fk.response_headers["x-async"] == "POST"


def test_an_author_project_uses_the_plugin_through_its_entry_point(tmp_path):
    (tmp_path / "greeter.py").write_text(
        textwrap.dedent(
            """
            PRIORITY = 900
            VERSION = "0.1.0"
            SCHEMA = [{"greeting": {"type": "string", "default": "hello"}}]

            def access(kong, conf):
                kong.response.set_header("x-greeting", conf["greeting"])
            """
        )
    )
    (tmp_path / "test_greeter.py").write_text(
        textwrap.dedent(
            """
            import greeter

            async def test_through_a_gateway(gateway):
                gw = await gateway.start(plugins=[{"name": "greeter", "config": {"greeting": "hi"}}])
                assert (await gw.get("/")).headers["x-greeting"] == "hi"

            def test_unit(fake_kong):
                fk = fake_kong()
                fk.run(greeter, "access", {"greeting": "yo"})
                assert fk.response_headers["x-greeting"] == "yo"
            """
        )
    )
    # the pytest.ini sdk-docs/testing.md shows, with the plugin in plugins/
    (tmp_path / "plugins").mkdir()
    (tmp_path / "greeter.py").rename(tmp_path / "plugins" / "greeter.py")
    (tmp_path / "pytest.ini").write_text((DOCS / "examples" / "pytest.ini").read_text())
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


def test_testing_page_quotes_the_example_files():
    page = (DOCS / "testing.md").read_text()
    assert "```ini\n" + (DOCS / "examples" / "pytest.ini").read_text() + "```" in page
    assert "```python\n" + (DOCS / "examples" / "test_hello_world.py").read_text() + "```" in page
