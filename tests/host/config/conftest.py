"""A small plugin registry made of hand-written specs, like the bundled plugins' schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from host.plugins.spec import PluginRegistry, PluginSpec
from host.schema import config_fields_to_definition, plugin_entity_schema, scope_flags, typedefs

FIXTURES = Path(__file__).parent / "fixtures"


def make_spec(name: str, definition: dict[str, Any]) -> PluginSpec:
    schema = plugin_entity_schema(name, definition)
    no_consumer, no_route, no_service = scope_flags(schema)
    return PluginSpec(
        name=name,
        version="1.0.0",
        priority=1000,
        language="python",
        source=f"tests/{name}.py",
        schema=schema,
        no_consumer=no_consumer,
        no_route=no_route,
        no_service=no_service,
    )


def _record(*fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "fields": list(fields), **extra}


def build_registry() -> PluginRegistry:
    rate_limiting = {
        "fields": [
            {"protocols": typedefs.protocols_http},
            {
                "config": _record(
                    {"second": {"type": "number", "gt": 0}},
                    {"minute": {"type": "number", "gt": 0}},
                    {"policy": {"type": "string", "default": "local", "one_of": ["local", "redis"]}},
                    {"limit_by": {"type": "string", "default": "consumer", "one_of": ["consumer", "ip"]}},
                    entity_checks=[{"at_least_one_of": ["second", "minute"]}],
                )
            },
        ]
    }
    key_auth = {
        "fields": [
            {"consumer": typedefs.no_consumer},
            {"protocols": typedefs.protocols_http},
            {
                "config": _record(
                    {"key_names": {"type": "array", "elements": typedefs.header_name, "default": ["apikey"]}},
                    {"hide_credentials": {"type": "boolean", "required": True, "default": False}},
                )
            },
        ]
    }
    auth = [
        {"consumer": typedefs.no_consumer},
        {"config": _record({"hide_credentials": {"type": "boolean", "default": False}})},
    ]
    specs = [
        make_spec("rate-limiting", rate_limiting),
        make_spec("key-auth", key_auth),
        make_spec("basic-auth", {"fields": auth}),
        make_spec("hmac-auth", {"fields": auth}),
        make_spec("jwt", {"fields": auth}),
        make_spec("oauth2", {"fields": auth}),
        make_spec(
            "acl",
            config_fields_to_definition(
                "acl", [{"allow": {"type": "array", "elements": {"type": "string"}}}]
            ),
        ),
        make_spec(
            "correlation-id",
            config_fields_to_definition(
                "correlation-id", [{"header_name": {"type": "string", "default": "Kong-Request-ID"}}]
            ),
        ),
    ]
    return PluginRegistry(specs)


@pytest.fixture(scope="session")
def registry() -> PluginRegistry:
    return build_registry()
