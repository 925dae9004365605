"""sdk-docs/load-balancing.md: its example config is valid and means what the page says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from host.balancer.health import close_health
from host.config import load_data
from host.config.errors import ConfigError
from host.config.snapshot import Snapshot
from host.plugins.spec import PluginRegistry

DOC = Path(__file__).resolve().parents[3] / "sdk-docs" / "load-balancing.md"


def example() -> dict:  # type: ignore[type-arg]
    (block,) = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    return yaml.safe_load(block)


async def test_the_example_loads_and_builds_the_balancer_it_describes() -> None:
    registry = PluginRegistry()
    config = load_data(example(), registry, source="load-balancing.md")
    upstream = config.upstreams[0]
    assert upstream["circuit_breaker"] == {"failures": 3, "cooldown": 10}
    assert upstream["healthchecks"]["active"]["unhealthy"]["interval"] == 1
    assert upstream["healthchecks"]["passive"]["healthy"]["http_statuses"][-1] == 308  # Kong's default
    snapshot = Snapshot(config, registry)
    balancer = snapshot.balancers["orders-pool"]
    assert [a.weight for a in balancer.addresses] == [100, 100, 50]
    assert balancer.checks.active_on and balancer.checks.passive_on and balancer.checks.breaker_failures == 3
    await close_health(registry)


def test_the_breaker_is_an_extension_with_checked_fields() -> None:
    config = example()
    config["upstreams"][0]["circuit_breaker"] = {"cooldown": 5, "half_open": 1}
    with pytest.raises(ConfigError) as err:
        load_data(config, PluginRegistry(), source="t.yml")
    text = str(err.value)
    assert "circuit_breaker.failures: required field missing" in text
    assert "circuit_breaker.half_open: unknown field" in text
    assert "not a Kong field" in DOC.read_text()


def test_an_upstream_without_a_breaker_reads_exactly_as_kongs() -> None:
    config = example()
    del config["upstreams"][0]["circuit_breaker"]
    upstream = load_data(config, PluginRegistry(), source="t.yml").upstreams[0]
    assert "circuit_breaker" not in upstream
    assert "circuit_breaker" in load_data(example(), PluginRegistry(), source="t.yml").upstreams[0]
