"""rate-limiting's schema: Kong's defaults and validation messages, plus `strategy`."""

from __future__ import annotations

from typing import Any

import pytest

from host.config import load_data
from host.config.errors import ConfigError
from host.gateway import build_registry
from host.settings import Settings

PREFIX = "kong.yml: plugins[0] (name=rate-limiting): "


@pytest.fixture(scope="module")
def registry():
    return build_registry(Settings(plugins_dirs=[]))


def validate(registry: Any, config: dict[str, Any]) -> dict[str, Any]:
    data = {"_format_version": "3.0", "plugins": [{"name": "rate-limiting", "config": config}]}
    return load_data(data, registry, source="kong.yml").plugins[0]["config"]


def errors(registry: Any, config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate(registry, config)
    return [e.removeprefix(PREFIX) for e in info.value.errors]


def test_defaults(registry):
    conf = validate(registry, {"minute": 10})
    assert {
        k: conf[k]
        for k in (
            "limit_by",
            "policy",
            "fault_tolerant",
            "hide_client_headers",
            "error_code",
            "error_message",
            "sync_rate",
            "strategy",
        )
    } == {
        "limit_by": "consumer",
        "policy": "local",
        "fault_tolerant": True,
        "hide_client_headers": False,
        "error_code": 429,
        "error_message": "API rate limit exceeded",
        "sync_rate": -1,
        "strategy": "fixed_window",
    }
    assert conf["redis"] == {
        "host": None,
        "port": 6379,
        "timeout": 2000,
        "username": None,
        "password": None,
        "database": 0,
        "ssl": False,
        "ssl_verify": False,
        "server_name": None,
    }
    assert conf["second"] is None and conf["header_name"] is None and conf["path"] is None


def test_redis_shorthands(registry):
    conf = validate(
        registry,
        {
            "minute": 1,
            "policy": "redis",
            "redis_host": "cache",
            "redis_port": 7000,
            "redis_database": 2,
            "redis_password": "pw",
            "redis_timeout": 100,
        },
    )
    assert conf["redis"]["host"] == "cache" and conf["redis"]["port"] == 7000
    assert (conf["redis"]["database"], conf["redis"]["password"], conf["redis"]["timeout"]) == (2, "pw", 100)


def test_redis_sync_rate_accepted(registry):
    conf = validate(registry, {"minute": 1, "policy": "redis", "redis": {"host": "h"}, "sync_rate": 1})
    assert conf["sync_rate"] == 1


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {},
            [
                "at least one of these fields must be non-empty: 'config.second', 'config.minute', "
                "'config.hour', 'config.day', 'config.month', 'config.year'"
            ],
        ),
        (
            {"minute": 5, "hour": 2},
            ["config: The limit for hour(2.0) cannot be lower than the limit for minute(5.0)"],
        ),
        (
            {"second": 3, "year": 1.5},
            ["config: The limit for year(1.5) cannot be lower than the limit for second(3.0)"],
        ),
        ({"minute": 5, "sync_rate": 10}, ["config: sync_rate can only be used with the redis policy"]),
        (
            {"minute": 5, "policy": "redis", "redis": {"host": "h"}, "sync_rate": 0.01},
            ["config: sync_rate must be greater than 0.02, or -1 to disable"],
        ),
        (
            {"minute": 5, "policy": "redis"},
            [
                "config.redis.host: required field missing",
                "failed conditional validation given value of field 'config.policy'",
            ],
        ),
        (
            {"minute": 5, "limit_by": "header"},
            [
                "config.header_name: required field missing",
                "failed conditional validation given value of field 'config.limit_by'",
            ],
        ),
        (
            {"minute": 5, "limit_by": "path"},
            [
                "config.path: required field missing",
                "failed conditional validation given value of field 'config.limit_by'",
            ],
        ),
        (
            {"minute": 5, "limit_by": "user"},
            ["config.limit_by: expected one of: consumer, credential, ip, service, header, path"],
        ),
        ({"minute": 5, "policy": "cluster"}, ["config.policy: expected one of: local, redis"]),
        ({"minute": 0}, ["config.minute: value must be greater than 0"]),
        ({"minute": 5, "error_code": 0}, ["config.error_code: value must be greater than 0"]),
        (
            {"minute": 5, "strategy": "leaky"},
            ["config.strategy: expected one of: fixed_window, sliding_window"],
        ),
        (
            {"minute": 5, "limit_by": "path", "path": "relative"},
            [
                "config.path: should start with: /",
                "failed conditional validation given value of field 'config.limit_by'",
            ],
        ),
    ],
)
def test_validation_messages(registry, config, expected):
    assert errors(registry, config) == expected
