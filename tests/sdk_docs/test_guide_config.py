"""The guide's configuration files, command transcripts and loading rules, checked for real."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint, EntryPoints

import pytest

from host.config import ConfigError, load_file
from host.gateway import build_registry
from host.plugins import python_loader
from host.settings import Settings
from tests.sdk_docs._support import EXAMPLES, EXAMPLES_DIR, REPO

#: settings from the environment would change what the commands print
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "MOONGATE_"))}


def registry():
    return build_registry(Settings(plugins_dirs=[str(EXAMPLES_DIR)]))


# -- kong.yml snippets --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kong.yml", "api-version.yml"])
def test_yaml_example_is_valid(name):
    config = load_file(EXAMPLES / name, registry())
    assert config.plugins


def test_kong_yml_enables_hello_world_at_every_scope():
    config = load_file(EXAMPLES / "kong.yml", registry())
    scopes = {
        ("route" if p["route"] else "service" if p["service"] else "consumer" if p["consumer"] else "global")
        for p in config.plugins
        if p["name"] == "hello-world"
    }
    assert scopes == {"global", "service", "route", "consumer"}


def test_invalid_yml_is_refused_with_every_error():
    with pytest.raises(ConfigError) as excinfo:
        load_file(EXAMPLES / "invalid.yml", registry())
    assert len(excinfo.value.errors) == 6


# -- command transcripts ------------------------------------------------------------------------


def transcript(name):
    """(command, expected output lines) pairs of a ``.console`` file."""
    runs = []
    for line in (EXAMPLES / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("$ "):
            runs.append((shlex.split(line[2:]), []))
        else:
            runs[-1][1].append(line)
    return runs


def run(command):
    assert command[0] == "moongate"
    code = "import sys; from host.cli import main; sys.argv[0] = 'moongate'; main()"
    env = {**ENV, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, *command[1:]],
        cwd=EXAMPLES,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout.splitlines()


def test_config_validate_transcript():
    runs = transcript("config-validate.console")
    assert [cmd[:3] for cmd, _ in runs] == [["moongate", "config", "validate"]] * 2
    for command, expected in runs:
        code, output = run(command)
        assert output == expected
        assert code == (1 if "invalid.yml" in command else 0)


def test_plugins_list_transcript():
    ((command, expected),) = transcript("plugins-list.console")
    code, output = run(command)
    # bundled and installed plugins are listed too (their longer names widen the
    # columns): the examples' rows appear in this order, with these cells
    cells = [line.split() for line in output]
    assert code == 0 and cells[0] == expected[0].split()
    assert [row for row in cells if row in [e.split() for e in expected]] == [e.split() for e in expected]


# -- loading --------------------------------------------------------------------------------------


def test_ties_run_in_descending_name_order():
    names = [spec.name for spec in registry()]
    assert names.index("response-digest") < names.index("hello-world")
    assert registry().get("hello-world").priority == registry().get("response-digest").priority


def forget_modules(top):
    for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[name]


def test_entry_point_snippet_loads_the_plugin(tmp_path, monkeypatch):
    project = tomllib.loads((EXAMPLES / "pyproject-entry-points.toml").read_text(encoding="utf-8"))
    group = project["project"]["entry-points"]
    assert list(group) == [python_loader.ENTRY_POINT_GROUP]
    ((ep_name, value),) = group[python_loader.ENTRY_POINT_GROUP].items()
    package, module = value.split(".")
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    shutil.copy(EXAMPLES_DIR / f"{module}.py", tmp_path / package / f"{module}.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry_point = EntryPoint(ep_name, value, python_loader.ENTRY_POINT_GROUP)
    monkeypatch.setattr(python_loader, "entry_points", lambda group: EntryPoints([entry_point]))
    try:
        loaded = build_registry(Settings())
    finally:
        forget_modules(package)
    assert loaded.get(ep_name) is not None
    assert loaded.get(ep_name).source == str(tmp_path / package / f"{module}.py")


def test_entry_point_name_names_the_plugin(tmp_path, monkeypatch):
    (tmp_path / "acme_hello.py").write_text((EXAMPLES_DIR / "hello_world.py").read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    entry_point = EntryPoint("greeter", "acme_hello", python_loader.ENTRY_POINT_GROUP)
    monkeypatch.setattr(python_loader, "entry_points", lambda group: EntryPoints([entry_point]))
    try:
        loaded = build_registry(Settings())
    finally:
        forget_modules("acme_hello")
    assert "greeter" in loaded and "acme-hello" not in loaded  # hello_world.py sets no NAME


PLUGIN = 'PRIORITY = 1\nVERSION = "1.0.0"\n'


@pytest.mark.parametrize(
    ("files", "failed", "reason"),
    [
        ({"typo.py": PLUGIN + "def acess(kong, conf): pass\n"}, "typo", "did you mean 'access'?"),
        ({"args.py": PLUGIN + "def access(kong, config): pass\n"}, "args", "'config'"),
        (
            {"both.py": PLUGIN + "def response(kong, conf): pass\ndef body_filter(kong, conf): pass\n"},
            "both",
            "cannot implement 'response' together with 'header_filter' or 'body_filter'",
        ),
        ({"prio.py": 'PRIORITY = "high"\nVERSION = "1.0.0"\n'}, "prio", "PRIORITY must be an integer"),
        (
            {"a.py": PLUGIN + 'NAME = "same"\n', "b.py": PLUGIN + 'NAME = "same"\n'},
            "same",
            "a plugin with this name is already loaded from",
        ),
    ],
    ids=["misspelled-phase", "wrong-argument", "response-and-filter", "priority", "duplicate-name"],
)
def test_load_time_checks(tmp_path, files, failed, reason):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    for name, text in files.items():
        (plugins / name).write_text(text)
    (plugins / "_private.py").write_text("raise RuntimeError('skipped: leading underscore')\n")
    (plugins / "good_one.py").write_text(PLUGIN + "def access(kong, conf): pass\n")
    loaded = build_registry(Settings(plugins_dirs=[str(plugins)]))
    assert reason in loaded.failures[failed]
    assert "good-one" in loaded  # the others still load
    assert not any("_private" in key or "skipped" in why for key, why in loaded.failures.items())


def test_plugins_order_transcript():
    ((command, expected),) = transcript("plugins-order.console")
    code, output = run(command)
    assert code == 0
    assert output == expected
