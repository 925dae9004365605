"""Helpers shared by the log plugins' tests: config loading and gateway configs."""

from __future__ import annotations

from typing import Any

import pytest

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings
from tests.conftest import service

REGISTRY = build_registry(Settings(plugins_dirs=[]))


def load_conf(name: str, conf: dict[str, Any]) -> dict[str, Any]:
    """The plugin's config after validation and defaults."""
    data = {"_format_version": "3.0", "plugins": [{"name": name, "config": conf}]}
    return load_data(data, REGISTRY, source="kong.yml").plugins[0]["config"]


def errors_of(name: str, conf: dict[str, Any]) -> list[str]:
    """The validation messages for ``conf``, without the entity prefix."""
    data = {"_format_version": "3.0", "plugins": [{"name": name, "config": conf}]}
    with pytest.raises(ConfigError) as excinfo:
        load_data(data, REGISTRY, source="kong.yml")
    prefix = f"kong.yml: plugins[0] (name={name}): "
    return [e.removeprefix(prefix) for e in excinfo.value.errors]


def spec_of(name: str) -> Any:
    return next(s for s in REGISTRY if s.name == name)


def gateway_config(
    upstream: Any, name: str, conf: dict[str, Any], paths: tuple[str, ...] = ("/api",)
) -> dict[str, Any]:
    """One service (the echo upstream), one route, the plugin on the service."""
    return {
        "_format_version": "3.0",
        "services": [
            {
                **service(upstream),
                "routes": [{"name": "r1", "paths": list(paths)}],
                "plugins": [{"name": name, "config": conf}],
            }
        ],
    }
