"""Helpers shared by the tests of the bundled auth and access-control plugins.

``plugin_schema(name)`` is the bundled plugin's schema as the gateway loads it;
``validate(name, config, **entity)`` runs it and gives ``(config_with_defaults, errors)``
with errors flattened to ``(field path, message)`` pairs; ``gateway_config`` builds a
declarative config with one service and route running the given plugins.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

from host.gateway import build_registry
from host.plugins.spec import PluginRegistry
from host.schema import flatten_errors
from host.settings import Settings

__all__ = ["basic", "gateway_config", "plugin_schema", "upstream_headers", "validate"]


@cache
def _registry() -> PluginRegistry:
    return build_registry(Settings())


def plugin_schema(name: str) -> Any:
    """The schema of bundled plugin ``name``."""
    spec = _registry().get(name)
    assert spec is not None, f"bundled plugin {name!r} is not loaded"
    return spec.schema


def validate(
    name: str, config: dict[str, Any], **entity: Any
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``(config with defaults, [(field, message), ...])`` for a plugin entity of ``name``."""
    value, errors = plugin_schema(name).validate({"name": name, "config": config, **entity})
    return (value or {}).get("config", {}), flatten_errors(errors)


def gateway_config(
    upstream_url: str,
    plugins: list[dict[str, Any]],
    consumers: list[dict[str, Any]] | None = None,
    paths: tuple[str, ...] = ("/",),
) -> dict[str, Any]:
    """A declarative config: one service at ``upstream_url``, one route, ``plugins`` on the route."""
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "echo",
                "url": upstream_url,
                "routes": [{"name": "r", "paths": list(paths), "plugins": plugins}],
            }
        ],
        "consumers": consumers or [],
    }


def upstream_headers(body: dict[str, Any]) -> dict[str, str]:
    """The headers the echo upstream received, keyed by lower-case name."""
    return {k.lower(): v for k, v in body["headers"].items()}


def basic(username: str, password: str) -> str:
    """An ``Authorization: Basic`` value."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
