"""``moongate plugin new``: complete projects whose generated tests pass right away."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.host.authorkit._support import ENV, REPO, cli, new_plugin

COMMON = ["plugin.yaml", "README.md", ".github/workflows/test.yml", "pytest.ini"]


def run_generated_tests(project: Path) -> subprocess.CompletedProcess[str]:
    """The project's own tests, as its author runs them (``python -m pytest``)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env={**ENV, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_lua_project_layout_and_tests_pass(tmp_path):
    project = new_plugin(tmp_path, "greeter", "lua")
    for rel in [*COMMON, "kong/plugins/greeter/handler.lua", "kong/plugins/greeter/schema.lua"]:
        assert (project / rel).is_file(), rel
    meta = yaml.safe_load((project / "plugin.yaml").read_text())
    assert meta["name"] == "greeter" and meta["language"] == "lua" and meta["version"] == "0.1.0"
    workflow = yaml.safe_load((project / ".github/workflows/test.yml").read_text())
    steps = [s.get("run", "") for s in workflow["jobs"]["test"]["steps"]]
    assert "python -m pytest -q" in steps
    result = run_generated_tests(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_python_project_layout_and_tests_pass(tmp_path):
    project = new_plugin(tmp_path, "api-stamp", "python")
    for rel in [*COMMON, "pyproject.toml", "plugins/api_stamp/__init__.py", "tests/test_api_stamp.py"]:
        assert (project / rel).is_file(), rel
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["moongate.plugins"] == {"api-stamp": "api_stamp"}
    table = pyproject["tool"]["moongate"]["plugin"]
    assert table["name"] == "api-stamp" and table["language"] == "python"
    result = run_generated_tests(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_generated_test_fails_when_the_plugin_breaks(tmp_path):
    """The generated tests test the plugin: break the handler and they fail."""
    project = new_plugin(tmp_path, "greeter", "lua")
    handler = project / "kong/plugins/greeter/handler.lua"
    handler.write_text(handler.read_text().replace("kong.response.set_header(conf.header, conf.message)", ""))
    result = run_generated_tests(project)
    assert result.returncode == 1
    assert "2 failed, 1 passed" in result.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [("Bad Name", "invalid plugin name 'Bad Name'"), ("x-", "invalid plugin name 'x-'")],
)
def test_bad_names_are_refused(tmp_path, name, message):
    result = cli("plugin", "new", name, "--lang", "lua", "--dir", tmp_path)
    assert result.exit_code == 1
    assert message in result.stderr
    assert not any(tmp_path.iterdir())


def test_existing_project_is_not_overwritten(tmp_path):
    new_plugin(tmp_path, "greeter", "python")
    result = cli("plugin", "new", "greeter", "--lang", "lua", "--dir", tmp_path)
    assert result.exit_code == 1
    assert "exists and is not empty" in result.stderr
    assert not (tmp_path / "greeter" / "kong").exists()


def test_requires_gateway_admits_this_version(tmp_path):
    from host.authorkit.metadata import check_compatible, read_metadata

    meta, problems = read_metadata(new_plugin(tmp_path, "greeter", "lua"))
    assert problems == [] and meta is not None
    assert check_compatible(meta) is None
    assert "requires gateway" in (check_compatible(meta, "99.0.0") or "")
