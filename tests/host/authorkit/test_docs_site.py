"""The author's site: mkdocs builds it with --strict, and the samples of the pages this kit
owns run: the quickstart's commands, packaging.md's metadata and index, hooks.md's plugins."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

from host.authorkit.market import build_index
from host.authorkit.metadata import read_metadata
from tests.host.authorkit._support import ENV, REPO, new_plugin

DOCS = REPO / "sdk-docs"
BIN = Path(sys.executable).parent


def blocks(page: str, lang: str) -> list[str]:
    text = (DOCS / page).read_text()
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def test_site_builds_strict(tmp_path):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    pages = ("quickstart", "packaging", "hooks", "guide", "anatomy", "phases", "schema", "testing", "pdk", "plugins")
    for page in pages:
        assert (tmp_path / "site" / page / "index.html").is_file(), page
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]
    files = [next(iter(item.values())) for item in nav]
    assert files[:5] == ["quickstart.md", "guide.md", "anatomy.md", "phases.md", "schema.md"]
    assert time.monotonic() - started < 60


def test_quickstart_commands_run_as_shown(tmp_path):
    cwd = tmp_path
    env = {**ENV, "PATH": f"{BIN}{os.pathsep}{ENV.get('PATH', '')}", "PYTHONPATH": str(REPO)}
    ran = 0
    for block in blocks("quickstart.md", "console"):
        commands: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append((line[2:], []))
            else:
                commands[-1][1].append(line)
        for command, expected in commands:
            if command.startswith("cd "):
                cwd = (cwd / command[3:]).resolve()
                continue
            argv = shlex.split(command)
            if argv[0] == "python":
                argv[0] = sys.executable
            result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
            assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
            assert result.stdout.splitlines()[: len(expected)] == expected, command
            ran += 1
    assert ran == 8
    assert (tmp_path / "gateway-plugins/kong/plugins/greeter/handler.lua").is_file()


def test_packaging_samples(tmp_path):
    [meta_yaml] = blocks("packaging.md", "yaml")
    (tmp_path / "plugin.yaml").write_text(meta_yaml)
    meta, problems = read_metadata(tmp_path)
    assert problems == [] and meta is not None and meta.publisher == "Acme"

    [sample] = blocks("packaging.md", "json")
    shown = json.loads(sample)
    project = new_plugin(tmp_path / "src", "greeter", "lua")
    market = tmp_path / "market"
    from host.authorkit.package import pack

    pack(project, market)
    real = build_index(market)
    assert set(shown) == set(real)
    [entry], [real_entry] = shown["plugins"], real["plugins"]
    assert list(entry) == list(real_entry)
    for key in (
        "name",
        "version",
        "language",
        "priority",
        "phases",
        "archive",
        "compatible",
        "requires-gateway",
    ):
        assert entry[key] == real_entry[key], key
    assert real_entry["schema"]["title"] == entry["schema"]["title"]


async def test_hook_examples(tmp_path, gateway, mock_upstream):
    plugins = tmp_path / "hooks"
    plugins.mkdir()
    names = []
    for source in blocks("hooks.md", "python"):
        name = source.split('"""', 2)[1].split(":", 1)[0]
        if not name.startswith("hook-"):
            continue  # the host hooks' examples: tests/host/authorkit/test_host_hooks.py
        (plugins / f"{name.replace('-', '_')}.py").write_text(source)
        names.append(name)
    assert len(names) == 9
    gw = await gateway.start(plugins=[{"name": n} for n in names], plugins_dirs=[plugins])
    registry = gw.gateway.registry
    for name, phase in zip(
        names,
        [
            "init_worker",
            "configure",
            "certificate",
            "rewrite",
            "access",
            "response",
            "header_filter",
            "body_filter",
            "log",
        ],
        strict=True,
    ):
        assert registry.get(name).phases == (phase,)

    def module(name):
        return registry.get(name).extra["instance"]

    refused = await gw.get("/")
    assert refused.status == 401  # body_filter runs on an exit's body too, as in Kong
    assert refused.body == b'{"message":"token required"}\n-- served by moongate\n'
    ok = await gw.get("/echo", headers={"X-Token": "t"})
    assert ok.status == 200
    assert mock_upstream.requests[-1].headers["X-Rewrite"] == "seen"
    assert ok.headers["X-Stamp"] == "moongate"
    assert ok.body.endswith(b"\n-- served by moongate\n")
    upstream_body = ok.body[: -len(b"\n-- served by moongate\n")]
    assert int(ok.headers["X-Body-Length"]) == len(upstream_body)
    assert len(module("hook-init-worker").STARTS) == 1
    assert module("hook-configure").SEEN == [1]
    for _ in range(100):
        if len(module("hook-log").STATUSES) == 2:
            break
        await asyncio.sleep(0.02)
    assert module("hook-log").STATUSES == [401, 200]
