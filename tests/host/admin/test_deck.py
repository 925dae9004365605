"""``moongate config dump/diff/sync`` against a running gateway's Admin API (decK's semantics)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from click.testing import CliRunner

from host.cli import main


async def _cli(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args))
    return result.exit_code, result.output


async def test_dump_diff_sync_with_select_tag(make_admin, http, tmp_path: Path) -> None:
    gw = await make_admin({"_format_version": "3.0"})
    a = gw.admin
    await http.post(f"{a}/services", json={"name": "keep", "host": "keep.org", "tags": ["other"]})
    await http.post(f"{a}/services", json={"name": "old", "host": "old.org", "tags": ["team"]})
    resp = await http.post(f"{a}/services", json={"name": "same", "host": "same.org", "tags": ["team"]})
    same_id = (await resp.json())["id"]
    file = tmp_path / "team.yml"
    file.write_text(
        yaml.safe_dump(
            {
                "_format_version": "3.0",
                "services": [
                    {"name": "same", "host": "changed.org", "tags": ["team"]},
                    {
                        "name": "new",
                        "host": "new.org",
                        "tags": ["team"],
                        "routes": [{"name": "n", "paths": ["/n"], "tags": ["team"]}],
                    },
                ],
            }
        )
    )
    code, out = await _cli(
        "config", "diff", str(file), "--admin-url", a, "--select-tag", "team", "--non-zero-exit-code"
    )
    assert code == 2, out
    assert "creating service new" in out and "creating route n" in out
    assert "updating service same" in out and "host" in out
    assert "deleting service old" in out and "keep" not in out
    assert "Created: 2" in out and "Updated: 1" in out and "Deleted: 1" in out

    code, out = await _cli("config", "sync", str(file), "--admin-url", a, "--select-tag", "team")
    assert code == 0, out
    services = {s["name"]: s for s in (await (await http.get(f"{a}/services")).json())["data"]}
    assert set(services) == {"keep", "same", "new"}  # untagged 'keep' stays, 'old' is gone
    assert services["same"]["id"] == same_id and services["same"]["host"] == "changed.org"  # id kept
    assert (await http.get(f"{gw.url}/n")).status in (200, 502, 503)  # routed (upstream is fake)

    code, out = await _cli(
        "config", "diff", str(file), "--admin-url", a, "--select-tag", "team", "--non-zero-exit-code"
    )
    assert code == 0 and "Created: 0" in out and "Updated: 0" in out and "Deleted: 0" in out

    dumped = tmp_path / "dump.yml"
    code, out = await _cli("config", "dump", "--admin-url", a, "-o", str(dumped))
    assert code == 0, out
    data = yaml.safe_load(dumped.read_text())
    assert sorted(s["name"] for s in data["services"]) == ["keep", "new", "same"]
    code, out = await _cli("config", "diff", str(dumped), "--admin-url", a, "--non-zero-exit-code")
    assert code == 0, out  # a dump syncs back to no change
