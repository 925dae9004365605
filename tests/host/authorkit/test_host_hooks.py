"""The gateway's own hooks (host/plugins/host_hooks.py): hooks.md's examples do what they say,
from a plugin directory and from an installed package, and a broken extension is contained."""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
from pathlib import Path

from tests.host.authorkit._support import cli_process
from tests.host.authorkit.test_docs_site import DOCS, blocks


def examples() -> dict[str, str]:
    """hooks.md's host hook examples by name (``ext-*``)."""
    found = {}
    for source in blocks("hooks.md", "python"):
        name = source.split('"""', 2)[1].split(":", 1)[0]
        if name.startswith("ext-"):
            found[name] = source
    return found


def write_examples(root: Path, *names: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, source in examples().items():
        if not names or name in names:
            (root / f"{name.replace('-', '_')}.py").write_text(source)
    return root


def loaded(name: str):
    return sys.modules[f"moongate_plugins.{name.replace('-', '_')}"]


async def wait_for(predicate, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_every_host_hook_has_an_example():
    assert set(examples()) == {
        "ext-startup",
        "ext-heartbeat",
        "ext-admin-routes",
        "ext-admin-shorthand",
        "ext-commands",
        "ext-status",
    }
    text = (DOCS / "hooks.md").read_text()
    for hook in ("startup", "shutdown", "register_admin_routes", "register_commands", "status_extra"):
        assert f"\n### {hook}(" in text, hook


async def test_examples_from_a_plugin_directory(tmp_path, gateway):
    plugins = write_examples(tmp_path / "ext")
    gw = await gateway.start(plugins_dirs=[plugins], status=True, admin=True)

    announced = loaded("ext-startup").ANNOUNCED
    assert announced == [gw.url]
    heartbeat = loaded("ext-heartbeat")
    await wait_for(lambda: len(heartbeat.BEATS) >= 2)
    assert heartbeat.BEATS[0] == gw.gateway.snapshot.hash

    listed = await gw.admin("GET", "/plugins-loaded")
    assert listed.status == 200
    names = listed.json()["data"]
    assert "ext-admin-shorthand" in names and "key-auth" in names
    assert "ext-status" not in names  # a host-only module is no plugin
    cleared = await gw.admin("DELETE", "/greetings")
    assert cleared.status == 204
    assert loaded("ext-admin-shorthand").CLEARED == ["/greetings"]
    assert (await gw.admin("GET", "/services")).status == 200  # the entity routes still answer

    status = await gw.status()
    assert status["extra"] == {"ext-status": {"routes": 1}}
    assert not [n for n in status["plugins"]["failed"] if n.startswith("ext-")]

    [task] = heartbeat.TASKS
    assert not task.done()
    await gateway.stop()
    await asyncio.sleep(0)
    assert task.cancelled()


async def test_installed_package_through_its_entry_point(tmp_path, gateway, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "moongate_ext_status.py").write_text(examples()["ext-status"])
    dist = site / "moongate_ext_status-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: moongate-ext-status\nVersion: 1.0\n")
    toml = blocks("hooks.md", "toml")[0]  # the entry point as hooks.md declares it
    assert toml.startswith('[project.entry-points."moongate.plugins"]\n')
    (dist / "entry_points.txt").write_text("[moongate.plugins]\n" + toml.split("\n", 1)[1].replace('"', ""))
    monkeypatch.syspath_prepend(str(site))

    gw = await gateway.start(
        routes=[{"name": "a", "paths": ["/a"]}, {"name": "b", "paths": ["/b"]}], plugins_dirs=[], status=True
    )
    status = await gw.status()
    assert status["extra"] == {"ext-status": {"routes": 2}}
    assert "ext-status" not in status["plugins"]["failed"]


async def test_a_plugin_module_implements_host_hooks_too(tmp_path, gateway):
    (tmp_path / "counter.py").write_text(
        textwrap.dedent(
            """
            PRIORITY = 5
            VERSION = "1.0.0"
            SEEN = []


            def access(kong, conf):
                SEEN.append(kong.request.get_path())


            async def status_extra(gateway):
                return {"requests": len(SEEN)}
            """
        )
    )
    gw = await gateway.start(plugins=[{"name": "counter"}], plugins_dirs=[tmp_path], status=True)
    assert (await gw.get("/one")).status == 200
    assert (await gw.status())["extra"] == {"counter": {"requests": 1}}


async def test_a_failing_hook_is_logged_and_a_mis_signed_one_refused(tmp_path, gateway, caplog):
    (tmp_path / "ext_crash.py").write_text(
        "def startup(gateway):\n    raise RuntimeError('boom')\n\n\n"
        "def status_extra(gateway):\n    return {'ok': True}\n"
    )
    (tmp_path / "ext_bad.py").write_text("def status_extra(gateway, request):\n    return {'never': 1}\n")
    with caplog.at_level(logging.ERROR, logger="moongate"):
        gw = await gateway.start(plugins_dirs=[tmp_path], status=True)
    assert "host hook startup of 'ext-crash' failed" in caplog.text
    assert (await gw.get("/")).status == 200  # the gateway started anyway
    status = await gw.status()
    assert status["extra"] == {"ext-crash": {"ok": True}}
    refused = status["plugins"]["failed"]["ext-bad"]
    assert "host hooks refused" in refused and "request" in refused


def test_register_commands_adds_a_command(tmp_path):
    plugins = write_examples(tmp_path / "ext", "ext-commands")
    (plugins / "ext_hijack.py").write_text(
        "import click\n\n\ndef register_commands(cli):\n"
        "    @cli.command(name='start')\n    def fake():\n        click.echo('hijacked')\n"
    )
    env = {"KONG_PLUGINS_DIRS": str(plugins)}
    hello = cli_process("hello", "world", env=env)
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout == "hello world\n"
    listing = cli_process("--help", env=env)
    assert "hello" in listing.stdout and "Greet NAME." in listing.stdout
    assert "an extension tried to replace the built-in command 'start': refused" in listing.stderr
    start = cli_process("start", "--help", env=env)
    assert "hijacked" not in start.stdout and "Start the gateway" in start.stdout
    unknown = cli_process("hello", "world")  # without the plugin directory: no such command
    assert unknown.returncode != 0 and "No such command 'hello'" in unknown.stderr
