"""oauth2-introspection's configuration schema: documented defaults and validation errors."""

from __future__ import annotations

import pytest

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings

REGISTRY = build_registry(Settings(plugins_dirs=[]))
PREFIX = "kong.yml: plugins[0] (name=oauth2-introspection): "
REQUIRED = {"introspection_url": "https://idp.example/introspect", "authorization_value": "Basic eDp5"}


def _load(conf):
    data = {"_format_version": "3.0", "plugins": [{"name": "oauth2-introspection", "config": conf}]}
    return load_data(data, REGISTRY, source="kong.yml")


def test_defaults_and_priority():
    assert _load(REQUIRED).plugins[0]["config"] == {
        **REQUIRED,
        "token_type_hint": None,
        "ttl": 30,
        "hide_credentials": True,
        "consumer_by": "username",
        "anonymous": "",
        "run_on_preflight": True,
        "timeout": 10000,
        "keepalive": 60000,
        "introspect_request": False,
        "custom_introspection_headers": {},
        "custom_claims_forward": [],
    }
    spec = next(s for s in REGISTRY if s.name == "oauth2-introspection")
    assert (spec.priority, spec.no_consumer) == (1700, True)


@pytest.mark.parametrize(
    ("conf", "error"),
    [
        ({"authorization_value": "x"}, "config.introspection_url: required field missing"),
        ({"introspection_url": "https://idp/x"}, "config.authorization_value: required field missing"),
        ({**REQUIRED, "introspection_url": "nope"}, "config.introspection_url: missing host in url"),
        ({**REQUIRED, "consumer_by": "sub"}, "config.consumer_by: expected one of: username, client_id"),
        ({**REQUIRED, "ttl": -1}, "config.ttl: value should be between 0 and 31536000"),
        ({**REQUIRED, "timeout": 0}, "config.timeout: value should be between 1 and 2147483646"),
        ({**REQUIRED, "keepalive": -1}, "config.keepalive: value should be between 0 and 2147483646"),
        ({**REQUIRED, "hide_credentials": "yes"}, "config.hide_credentials: expected a boolean"),
        ({**REQUIRED, "custom_claims_forward": "tenant"}, "config.custom_claims_forward: expected a set"),
        (
            {**REQUIRED, "custom_introspection_headers": {"X-A": 1}},
            "config.custom_introspection_headers: expected a string",
        ),
        ({**REQUIRED, "unknown": 1}, "config.unknown: unknown field"),
    ],
)
def test_validation_errors(conf, error):
    with pytest.raises(ConfigError) as excinfo:
        _load(conf)
    assert error in [e.removeprefix(PREFIX) for e in excinfo.value.errors]


def test_bad_custom_header_name():
    with pytest.raises(ConfigError) as excinfo:
        _load({**REQUIRED, "custom_introspection_headers": {"bad header": "v"}})
    assert any("custom_introspection_headers" in e for e in excinfo.value.errors)
