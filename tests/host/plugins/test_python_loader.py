"""The Python plugin loader: plugin shapes, refusals with messages that point at the file, discovery.

Plugins live in ``fixtures/``: ``good_plugins/`` holds every supported shape and
``broken_plugins/`` one plugin per load failure (each file says what is wrong).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import py_plugins
from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.plugins.python_loader import ENTRY_POINT_GROUP, discover_python_plugins
from host.plugins.spec import PluginSpec
from host.settings import Settings
from tests.conftest import TEST_PLUGINS

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "good_plugins"
BROKEN = FIXTURES / "broken_plugins"


class FakeKong:
    """Records what the handlers under test did."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []


@pytest.fixture(autouse=True)
def _forget_imported_plugins() -> Iterator[None]:
    """Plugin files are imported as ``moongate_plugins.<stem>``: drop the ones a test added."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("moongate_plugins.", "py_plugins.", "moongate_ep_")):
            del sys.modules[name]


def load(*dirs: Path, bundled: bool = False) -> tuple[dict[str, PluginSpec], dict[str, str]]:
    specs, failures = discover_python_plugins([str(d) for d in dirs], bundled=bundled)
    by_name = {spec.name: spec for spec in specs}
    assert len(by_name) == len(specs), "discovery returned two specs with one name"
    return by_name, failures


# -- the shapes a plugin can take ------------------------------------------------------------------


@pytest.fixture(scope="module")
def good() -> dict[str, PluginSpec]:
    specs, failures = discover_python_plugins([str(GOOD)], bundled=False)
    assert failures == {}
    return {spec.name: spec for spec in specs}


def test_every_good_plugin_loads_under_its_name(good):
    assert sorted(good) == ["class-plugin", "custom-name", "fewer-args", "my-plugin", "pkg-plugin"]
    assert all(spec.language == "python" for spec in good.values())


async def test_module_level_functions(good):
    spec = good["my-plugin"]  # my_plugin.py -> my-plugin
    assert (spec.priority, spec.version, spec.phases) == (10, "1.0.0", ("access", "log"))
    assert spec.async_phases == frozenset({"access"})
    assert spec.source == str(GOOD / "my_plugin.py")
    kong = FakeKong()
    await spec.handlers["access"](kong, {"greeting": "hi"})
    spec.handlers["log"](kong, {"greeting": "bye"})
    assert kong.calls == [("access", "hi"), ("log", "bye")]


async def test_plugin_class_is_instantiated_once_and_keeps_its_state(good):
    spec = good["class-plugin"]
    assert (spec.priority, spec.version) == (20, "2.1.0")
    assert spec.phases == ("init_worker", "rewrite", "header_filter")
    assert spec.async_phases == frozenset({"header_filter"})
    kong = FakeKong()
    spec.handlers["init_worker"](kong)
    spec.handlers["rewrite"](kong, {})
    await spec.handlers["header_filter"](kong, {"a": 1})
    assert kong.calls == [("rewrite", 1), ("header_filter", {"a": 1})]


async def test_package_directory_with_a_relative_import(good):
    spec = good["pkg-plugin"]
    assert (spec.priority, spec.version, spec.phases) == (50, "3.0.0", ("access",))
    assert spec.async_phases == frozenset({"access"})
    assert spec.source == str(GOOD / "pkg_plugin" / "__init__.py")
    kong = FakeKong()
    await spec.handlers["access"](kong, {"header": "X-Pkg"})
    assert kong.calls == [("access", "X-Pkg")]


def test_name_override(good):
    spec = good["custom-name"]
    assert spec.source == str(GOOD / "renamed.py")
    assert "renamed" not in good


def test_handlers_get_only_the_arguments_they_declare(good):
    spec = good["fewer-args"]
    kong, conf = FakeKong(), {"c": 1}
    assert spec.handlers["access"](kong, conf) == ("access", conf)
    assert spec.handlers["log"](kong, conf) == ("log", kong, conf)


def test_schema_defaults_fill_the_config_of_a_plugin_entity():
    registry = build_registry(Settings(plugins_dirs=[str(GOOD)]))
    cfg = load_data(
        {"_format_version": "3.0", "plugins": [{"name": "my-plugin"}, {"name": "pkg-plugin"}]},
        registry,
        source="kong.yml",
    )
    assert [(p["name"], p["config"]) for p in cfg.plugins] == [
        ("my-plugin", {"greeting": "hello"}),
        ("pkg-plugin", {"header": "X-Pkg"}),
    ]


# -- refusals ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken() -> tuple[list[PluginSpec], dict[str, str]]:
    return discover_python_plugins([str(BROKEN)], bundled=False)


def refusal(name: str, file: str, reason: str) -> str:
    return f"plugin '{name}' ({BROKEN / file}): {reason}"


def test_no_broken_plugin_is_loaded_and_each_is_reported_once(broken):
    specs, failures = broken
    assert specs == []
    assert sorted(failures) == sorted(
        [
            "misspelled-phase",
            "wrong-signature",
            "no-priority",
            "no-version",
            "text-priority",
            "fractional-priority",
            "word-version",
            "newline-version",
            "response-and-filter",
            str(BROKEN / "import_error.py"),
            str(BROKEN / "raising_property.py"),
            "unknown-schema-type",
            "schema-not-a-table",
            "partial-phase",
            "7",
            "failing-init",
        ]
    )


def test_misspelled_phase_names_plugin_file_and_method_and_suggests_the_phase(broken):
    _, failures = broken
    assert failures["misspelled-phase"] == refusal(
        "misspelled-phase",
        "misspelled_phase.py",
        "method 'acess' is not a phase (did you mean 'access'?); phases: "
        "init_worker, configure, certificate, rewrite, access, response, header_filter, body_filter, log",
    )


def test_wrong_signature_is_refused_by_pluggy(broken):
    _, failures = broken
    assert failures["wrong-signature"] == refusal(
        "wrong-signature",
        "wrong_signature.py",
        "method 'access': Plugin 'wrong-signature' for hook 'access'; hookimpl definition: access(kong, config); "
        "Argument(s) {'config'} are declared in the hookimpl but can not be found in the hookspec",
    )


@pytest.mark.parametrize(
    ("name", "file", "reason"),
    [
        ("no-priority", "no_priority.py", "PRIORITY is missing"),
        ("no-version", "no_version.py", "VERSION is missing"),
        ("text-priority", "text_priority.py", "PRIORITY must be an integer, got '100'"),
        ("fractional-priority", "fractional_priority.py", "PRIORITY must be an integer, got 10.5"),
        ("word-version", "word_version.py", "VERSION must be a version string like '1.0.0', got 'one'"),
        (
            "newline-version",
            "newline_version.py",
            "VERSION must be a version string like '1.0.0', got '1.0.0\\n'",
        ),
        (
            "response-and-filter",
            "response_and_filter.py",
            "a plugin cannot implement 'response' together with 'header_filter' or 'body_filter'",
        ),
        (
            "schema-not-a-table",
            "schema_not_a_table.py",
            "SCHEMA must be a list of config fields or a Kong schema table with 'fields'",
        ),
        ("partial-phase", "partial_phase.py", "'access' must be a function or method, got partial"),
        ("7", "numeric_name.py", "NAME must be a non-empty string, got 7"),
        ("failing-init", "failing_init.py", "Plugin() failed: RuntimeError('no database')"),
    ],
)
def test_invalid_metadata_is_refused_with_a_clear_message(broken, name, file, reason):
    _, failures = broken
    assert failures[name] == refusal(name, file, reason)


def test_invalid_schema_is_refused(broken):
    _, failures = broken
    message = failures["unknown-schema-type"]
    assert message.startswith(refusal("unknown-schema-type", "unknown_schema_type.py", "invalid SCHEMA: "))
    assert "strnig" in message


def test_import_error_is_reported_by_file(broken):
    _, failures = broken
    path = str(BROKEN / "import_error.py")
    assert failures[path] == (
        f"{path}: import failed: ModuleNotFoundError(\"No module named 'moongate_fixture_no_such_module'\")"
    )


def test_any_other_exception_while_loading_is_reported_by_file(broken):
    _, failures = broken
    path = str(BROKEN / "raising_property.py")
    assert failures[path] == f"{path}: failed to load: RuntimeError('settings are not loaded yet')"


def test_broken_plugins_do_not_stop_the_others_from_loading():
    registry = build_registry(Settings(plugins_dirs=[str(BROKEN), str(GOOD), str(TEST_PLUGINS)]))
    assert {"my-plugin", "class-plugin", "pkg-plugin", "tagger", "tracer"} <= set(registry.names())
    assert str(BROKEN / "import_error.py") in registry.failures
    assert "misspelled-phase" in registry.failures
    assert not {"misspelled-phase", "wrong-signature", "no-priority"} & set(registry.names())


def test_duplicate_names_are_reported_and_the_first_plugin_wins():
    dup = FIXTURES / "duplicate_plugins"
    specs, failures = load(dup)
    assert list(specs) == ["twin"]
    assert specs["twin"].source == str(dup / "first.py")
    assert failures == {
        "twin": f"plugin 'twin' ({dup / 'second.py'}): a plugin with this name is already loaded from {dup / 'first.py'}"
    }


def test_duplicate_of_a_plugin_from_another_directory():
    specs, failures = load(GOOD, GOOD)
    assert sorted(specs) == ["class-plugin", "custom-name", "fewer-args", "my-plugin", "pkg-plugin"]
    assert failures["my-plugin"].endswith(
        f"a plugin with this name is already loaded from {GOOD / 'my_plugin.py'}"
    )
    assert failures["class-plugin"].endswith(f"already loaded from {GOOD / 'class_plugin.py'}")


def test_a_refused_plugin_does_not_keep_its_name():
    shadowed = FIXTURES / "shadowed_plugins"
    specs, failures = load(shadowed)
    assert list(specs) == ["greeter"]
    assert specs["greeter"].source == str(shadowed / "b_valid.py")
    assert failures == {
        "greeter": f"plugin 'greeter' ({shadowed / 'a_refused.py'}): "
        "VERSION must be a version string like '1.0.0', got 'one'"
    }


# -- a plugin's config in the declarative file ------------------------------------------------------


def test_invalid_plugin_config_names_the_plugin_instance_and_the_field():
    registry = build_registry(Settings(plugins_dirs=[str(TEST_PLUGINS)]))
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "echo",
                "url": "http://127.0.0.1:9000",
                "routes": [
                    {
                        "name": "r",
                        "paths": ["/r"],
                        "plugins": [{"name": "tagger", "config": {"tag": 5, "colour": "x"}}],
                    }
                ],
            }
        ],
        "plugins": [{"name": "sleeper", "config": {"seconds": 0.1}}, {"name": "tagger"}],
    }
    with pytest.raises(ConfigError) as info:
        load_data(config, registry, source="kong.yml")
    assert info.value.errors == [
        "kong.yml: services[0].routes[0].plugins[0] (name=tagger): config.tag: expected a string",
        "kong.yml: services[0].routes[0].plugins[0] (name=tagger): config.colour: unknown field",
        "kong.yml: plugins[1] (name=tagger): config.tag: required field missing",
    ]


# -- sources: the bundled package and entry points --------------------------------------------------------


def test_bundled_package_is_scanned_without_failures():
    specs, failures = discover_python_plugins([], bundled=True)
    assert failures == {}
    assert all(spec.source.startswith(str(Path(py_plugins.__file__).parent)) for spec in specs)


def test_bundled_package_is_scanned_only_when_asked(monkeypatch):
    bundled_dir = FIXTURES / "bundled_plugins"
    monkeypatch.setattr(py_plugins, "__path__", [str(bundled_dir)])
    specs, failures = load(bundled=True)
    assert failures == {}
    assert specs["bundled-hello"].source == str(bundled_dir / "bundled_hello.py")
    assert "bundled-hello" not in load(bundled=False)[0]


ENTRY_POINT_MODULE = """
NAME = "ep-greeter"
PRIORITY = 77
VERSION = "1.4.0"


async def access(kong, conf):
    pass
"""


@pytest.fixture
def installed_distribution(tmp_path, monkeypatch) -> Path:
    """A real distribution on sys.path declaring two ``moongate.plugins`` entry points."""
    site = tmp_path / "site"
    dist_info = site / "moongate_fixture_dist-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: moongate-fixture-dist\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "ep-greeter = moongate_ep_greeter\n"
        "ep-missing = moongate_ep_missing:Plugin\n"
        "\n[console_scripts]\nnot-a-plugin = moongate_ep_greeter:access\n"
    )
    (site / "moongate_ep_greeter.py").write_text(ENTRY_POINT_MODULE)
    monkeypatch.syspath_prepend(str(site))  # also invalidates the import caches
    return site


def test_entry_points_are_discovered(installed_distribution):
    specs, failures = load()
    spec = specs["ep-greeter"]
    assert (spec.priority, spec.version, spec.phases) == (77, "1.4.0", ("access",))
    assert spec.async_phases == frozenset({"access"})
    assert spec.source == str(installed_distribution / "moongate_ep_greeter.py")
    label = "entry point ep-missing (moongate_ep_missing:Plugin)"
    assert failures == {
        label: f"{label}: import failed: ModuleNotFoundError(\"No module named 'moongate_ep_missing'\")"
    }
