"""Dynamic plugin ordering (``ordering.before/after.access``), Kong's shape and legacy algorithm."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import yaml

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.plugins.ordering import OrderingCycle, access_order
from host.settings import Settings

PLUGIN = """
PRIORITY = {priority}
VERSION = "1.0.0"


class Plugin:
    def access(self, kong, conf):
        kong.response.add_header("X-Access", "{name}")

    def header_filter(self, kong, conf):
        kong.response.add_header("X-Header-Filter", "{name}")
"""
PRIORITIES = {"alpha": 300, "beta": 200, "gamma": 100}


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("ordering-plugins")
    for name, priority in PRIORITIES.items():
        (root / f"{name}.py").write_text(textwrap.dedent(PLUGIN.format(name=name, priority=priority)))
    return root


def config(upstream_url, ordering=None, consumer_ordering=None):
    plugins = [{"name": n} for n in PRIORITIES]
    for name, rules in (ordering or {}).items():
        next(p for p in plugins if p["name"] == name)["ordering"] = rules
    data = {
        "_format_version": "3.0",
        "services": [{"name": "s", "url": upstream_url, "routes": [{"name": "r", "paths": ["/"]}]}],
        "consumers": [{"username": "ann"}],
        "plugins": [{**p, "route": "r"} for p in plugins],
    }
    return data


def test_legacy_places_what_a_plugin_waits_for_just_before_it():
    names = ["a", "b", "c", "d"]
    assert access_order(names, {}) == names
    assert access_order(names, {"a": {"d"}}) == ["d", "a", "b", "c"]  # d before a
    assert access_order(names, {"b": {"d"}, "d": {"c"}}) == ["a", "c", "d", "b"]
    assert access_order(names, {"a": {"c", "b"}}) == ["b", "c", "a", "d"]  # in priority order


def test_cycle_names_the_plugins_in_running_order():
    with pytest.raises(OrderingCycle) as err:
        access_order(["a", "b", "c"], {"a": {"b"}, "b": {"c"}, "c": {"a"}})
    assert err.value.names[0] == err.value.names[-1]
    assert set(err.value.names) == {"a", "b", "c"}


async def test_before_and_after_reorder_access_only(make_gateway, echo_upstream, http, plugin_dir):
    rules = {"gamma": {"before": {"access": ["alpha"]}}}
    gw = await make_gateway(config(echo_upstream.url, rules), plugins_dirs=[plugin_dir])
    async with http.get(gw.url + "/") as resp:
        assert resp.headers.getall("X-Access") == ["gamma", "alpha", "beta"]
        assert resp.headers.getall("X-Header-Filter") == ["alpha", "beta", "gamma"]  # PRIORITY's order


async def test_after_rule_on_the_other_plugin_gives_the_same_edge(
    make_gateway, echo_upstream, http, plugin_dir
):
    rules = {"alpha": {"after": {"access": ["gamma"]}}}
    gw = await make_gateway(config(echo_upstream.url, rules), plugins_dirs=[plugin_dir])
    async with http.get(gw.url + "/") as resp:
        assert resp.headers.getall("X-Access") == ["gamma", "alpha", "beta"]


async def test_order_with_consumer_scoped_configs(make_gateway, echo_upstream, http, plugin_dir):
    data = config(echo_upstream.url, {"beta": {"after": {"access": ["gamma"]}}})
    data["plugins"].append({"name": "alpha", "consumer": "ann"})  # resolved per request
    gw = await make_gateway(data, plugins_dirs=[plugin_dir])
    async with http.get(gw.url + "/") as resp:
        assert resp.headers.getall("X-Access") == ["alpha", "gamma", "beta"]
        assert resp.headers.getall("X-Header-Filter") == ["alpha", "beta", "gamma"]


def test_a_cycle_is_refused_at_load_naming_the_plugins_and_route(plugin_dir):
    registry = build_registry(Settings(plugins_dirs=[str(plugin_dir)]))
    rules = {"alpha": {"after": {"access": ["beta"]}}, "beta": {"after": {"access": ["alpha"]}}}
    with pytest.raises(ConfigError) as err:
        load_data(config("http://127.0.0.1:9", rules), registry, source="kong.yml")
    (message,) = err.value.errors
    assert message.startswith("kong.yml: plugins (alpha, beta) on routes (name=r): ordering: cycle in access")
    assert "alpha -> beta -> alpha" in message or "beta -> alpha -> beta" in message


def test_rules_naming_absent_plugins_are_ignored(plugin_dir):
    registry = build_registry(Settings(plugins_dirs=[str(plugin_dir)]))
    data = config("http://127.0.0.1:9", {"alpha": {"after": {"access": ["key-auth"]}}})
    assert load_data(data, registry, source="kong.yml").plugins


def test_only_access_is_accepted_as_a_phase(plugin_dir):
    registry = build_registry(Settings(plugins_dirs=[str(plugin_dir)]))
    data = config("http://127.0.0.1:9", {"alpha": {"after": {"log": ["beta"]}}})
    with pytest.raises(ConfigError) as err:
        load_data(data, registry, source="kong.yml")
    assert "ordering.after" in err.value.errors[0]


def test_cli_prints_the_chain_per_phase(tmp_path, plugin_dir):
    path = tmp_path / "kong.yml"
    path.write_text(
        yaml.safe_dump(config("http://127.0.0.1:9", {"gamma": {"before": {"access": ["alpha"]}}}))
    )
    command = [sys.executable, "-m", "host.cli", "plugins", "order", "-c", str(path), "--route", "r"]
    out = subprocess.run(
        [*command, "--plugins-dir", str(plugin_dir)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.splitlines() == [
        "route r",
        "  access         gamma -> alpha -> beta",
        "  header_filter  alpha -> beta -> gamma",
    ]
    as_json = subprocess.run(
        [*command, "--plugins-dir", str(plugin_dir), "--json"], capture_output=True, text=True, timeout=60
    ).stdout
    assert json.loads(as_json)["phases"]["access"] == ["gamma", "alpha", "beta"]
    missing = subprocess.run(
        [*command[:-1], "nope", "--plugins-dir", str(plugin_dir)], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 1 and "no route named 'nope'" in missing.stderr
