"""Packages and the marketplace: pack -> index -> list/search -> install -> the gateway loads it.

The marketplace repository is built in the test from scaffolded plugins."""

from __future__ import annotations

import json
import tarfile

from tests.host.authorkit._support import REPO, cli, cli_process, new_plugin, set_version


def test_pack_is_reproducible_and_checksummed(tmp_path):
    project = new_plugin(tmp_path, "greeter", "lua")
    a = cli("plugin", "pack", project, "-o", tmp_path / "a")
    b = cli("plugin", "pack", project, "-o", tmp_path / "b")
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    archive = tmp_path / "a" / "greeter-0.1.0.tar.gz"
    assert archive.read_bytes() == (tmp_path / "b" / "greeter-0.1.0.tar.gz").read_bytes()
    import hashlib

    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert (tmp_path / "a" / "greeter-0.1.0.tar.gz.sha256").read_text() == f"{digest}  greeter-0.1.0.tar.gz\n"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "greeter-0.1.0/kong/plugins/greeter/handler.lua" in names
    assert "greeter-0.1.0/plugin.yaml" in names


def test_pack_refuses_an_invalid_plugin(tmp_path):
    project = new_plugin(tmp_path, "greeter", "lua")
    handler = project / "kong/plugins/greeter/handler.lua"
    handler.write_text(handler.read_text().replace("PRIORITY = 1000", "PRIORITY = 1.5"))
    result = cli("plugin", "pack", project, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "handler.lua:4: PRIORITY must be an integer, got 1.5" in result.stderr
    assert not (tmp_path / "out" / "greeter-0.1.0.tar.gz").exists()


def test_install_checks_checksum_compatibility_and_versions(tmp_path):
    project = new_plugin(tmp_path, "greeter", "lua")
    assert cli("plugin", "pack", project, "-o", tmp_path / "v1").exit_code == 0
    archive = tmp_path / "v1" / "greeter-0.1.0.tar.gz"
    plugins = tmp_path / "plugins"

    tampered = tmp_path / "tampered" / archive.name
    tampered.parent.mkdir()
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    (tampered.parent / f"{archive.name}.sha256").write_text(
        (tmp_path / "v1" / f"{archive.name}.sha256").read_text()
    )
    refused = cli("plugin", "install", tampered, "--plugins-dir", plugins)
    assert refused.exit_code == 1 and "checksum mismatch" in refused.stderr
    assert not plugins.exists()

    ok = cli("plugin", "install", archive, "--plugins-dir", plugins)
    assert ok.exit_code == 0, ok.output
    assert (plugins / "kong/plugins/greeter/handler.lua").is_file()
    again = cli("plugin", "install", archive, "--plugins-dir", plugins)
    assert again.exit_code == 0 and "already installed" in again.stdout

    set_version(project, "0.1.0", "0.2.0")
    assert cli("plugin", "pack", project, "-o", tmp_path / "v2").exit_code == 0
    v2 = tmp_path / "v2" / "greeter-0.2.0.tar.gz"
    other = cli("plugin", "install", v2, "--plugins-dir", plugins)
    assert other.exit_code == 1 and "greeter 0.1.0 is installed: use --upgrade" in other.stderr
    upgraded = cli("plugin", "install", v2, "--plugins-dir", plugins, "--upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert 'VERSION = "0.2.0"' in (plugins / "kong/plugins/greeter/handler.lua").read_text()

    meta = project / "plugin.yaml"
    meta.write_text(meta.read_text().replace(">=0.", ">=99.").replace(",<", ",<1"))
    too_new = cli("plugin", "install", project, "--plugins-dir", plugins, "--upgrade")
    assert too_new.exit_code == 1
    assert "refused: plugin 'greeter' 0.2.0 requires gateway >=99.1,<10.2, this is Moongate" in too_new.stderr


async def test_marketplace_end_to_end(tmp_path, gateway):
    src, repo = tmp_path / "src", tmp_path / "market"
    lua = new_plugin(src, "greeter", "lua")
    py = new_plugin(src, "stamp", "python")
    meta = py / "plugin.yaml"
    meta.write_text(meta.read_text().replace("categories: [transformations]", "categories: [observability]"))
    for project in (lua, py):
        assert cli("plugin", "pack", project, "-o", repo).exit_code == 0
    set_version(lua, "0.1.0", "0.2.0")
    assert cli("plugin", "pack", lua, "-o", repo).exit_code == 0

    built = cli("market", "index", repo)
    assert built.exit_code == 0, built.output
    assert "3 package(s) of 2 plugin(s)" in built.stdout
    index = json.loads((repo / "index.json").read_text())
    entries = {(e["name"], e["version"]): e for e in index["plugins"]}
    assert set(entries) == {("greeter", "0.1.0"), ("greeter", "0.2.0"), ("stamp", "0.1.0")}
    stamp = entries["stamp", "0.1.0"]
    assert stamp["language"] == "python" and stamp["compatible"] is True
    assert stamp["schema"]["properties"]["header"]["default"] == "X-Stamp"
    assert stamp["archive"] == "stamp-0.1.0.tar.gz" and len(stamp["sha256"]) == 64

    listed = cli("market", "list", "--index", repo / "index.json", "--json")
    assert [(e["name"], e["version"]) for e in json.loads(listed.stdout)] == [
        ("greeter", "0.2.0"),
        ("stamp", "0.1.0"),
    ]
    found = cli("market", "search", "OBSERV", "--index", (repo / "index.json").as_uri())
    assert found.exit_code == 0 and found.stdout.splitlines()[1].split()[:2] == ["stamp", "0.1.0"]
    assert cli("market", "search", "nothing-like-this", "--index", repo / "index.json").exit_code == 1

    plugins = tmp_path / "plugins"
    installed = cli(
        "plugin", "install", repo / entries["greeter", "0.2.0"]["archive"], "--plugins-dir", plugins
    )
    assert installed.exit_code == 0, installed.output
    gw = await gateway.start(
        plugins=[{"name": "greeter", "config": {"message": "from-market"}}], plugins_dirs=[plugins]
    )
    resp = await gw.get("/")
    assert resp.status == 200 and resp.headers["X-Greeter"] == "from-market"

    target = tmp_path / "site-packages"
    result = cli_process(
        "plugin", "install", repo / "stamp-0.1.0.tar.gz", "--pip-target", target, "--offline"
    )
    assert result.returncode == 0, result.stderr
    # pip put the package and its entry point there: a gateway with it on its path finds the plugin
    listed = cli_process("plugins", "list", "--json", env={"PYTHONPATH": f"{target}:{REPO}"})
    assert listed.returncode == 0, listed.stderr
    names = {p["name"]: p["version"] for p in json.loads(listed.stdout)["plugins"]}
    assert names["stamp"] == "0.1.0"


def test_index_refuses_a_bad_repository(tmp_path):
    repo = tmp_path / "market"
    project = new_plugin(tmp_path / "src", "greeter", "lua")
    assert cli("plugin", "pack", project, "-o", repo).exit_code == 0
    (repo / "greeter-0.1.0.tar.gz").rename(repo / "renamed-0.1.0.tar.gz")
    (repo / "greeter-0.1.0.tar.gz.sha256").rename(repo / "renamed-0.1.0.tar.gz.sha256")
    (repo / "loose-1.0.0.tar.gz").write_bytes(b"not an archive")
    result = cli("market", "index", repo)
    assert result.exit_code == 1
    assert "loose-1.0.0.tar.gz: no loose-1.0.0.tar.gz.sha256 next to it" in result.stderr
    assert (
        "renamed-0.1.0.tar.gz: named renamed-0.1.0.tar.gz, but its plugin.yaml says greeter-0.1.0.tar.gz"
        in result.stderr
    )
    assert not (repo / "index.json").exists()
