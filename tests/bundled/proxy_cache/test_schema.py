"""proxy-cache: the schema's defaults and Kong's validation messages."""

from __future__ import annotations

from typing import Any

import pytest

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings


@pytest.fixture(scope="module")
def registry() -> Any:
    return build_registry(Settings())


def load(registry: Any, config: dict[str, Any]) -> dict[str, Any]:
    data = {"_format_version": "3.0", "plugins": [{"name": "proxy-cache", "config": config}]}
    return load_data(data, registry, source="kong.yml").plugins[0]["config"]


def errors(registry: Any, config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as excinfo:
        load(registry, config)
    prefix = "kong.yml: plugins[0] (name=proxy-cache): "
    return [e.removeprefix(prefix) for e in excinfo.value.errors]


def test_defaults(registry):
    conf = load(registry, {"strategy": "memory"})
    assert conf["response_code"] == [200, 301, 404]
    assert conf["request_method"] == ["GET", "HEAD"]
    assert conf["content_type"] == ["text/plain", "application/json"]
    assert conf["cache_ttl"] == 300
    assert conf["cache_control"] is False and conf["ignore_uri_case"] is False
    assert conf["storage_ttl"] is None
    assert conf["memory"] == {"dictionary_name": "kong_db_cache"}
    assert conf["vary_query_params"] is None and conf["vary_headers"] is None
    assert conf["response_headers"] == {"age": True, "X-Cache-Status": True, "X-Cache-Key": True}
    assert (
        conf["redis"]["port"] == 6379 and conf["redis"]["timeout"] == 2000 and conf["redis"]["database"] == 0
    )


def test_strategy_is_required_and_checked(registry):
    # the engine reports the missing field through the redis entity check that reads it
    assert errors(registry, {}) == ["config.strategy: field required for entity check"]
    assert errors(registry, {"strategy": "disk"}) == ["config.strategy: expected one of: memory, redis"]


def test_field_checks(registry):
    assert errors(registry, {"strategy": "memory", "cache_ttl": 0}) == [
        "config.cache_ttl: value must be greater than 0"
    ]
    assert errors(registry, {"strategy": "memory", "response_code": []}) == [
        "config.response_code: length must be at least 1"
    ]
    assert errors(registry, {"strategy": "memory", "response_code": [99]}) == [
        "config.response_code[0]: value should be between 100 and 900"
    ]
    assert errors(registry, {"strategy": "memory", "request_method": ["DELETE"]}) == [
        "config.request_method[0]: expected one of: HEAD, GET, POST, PATCH, PUT"
    ]


def test_redis_needs_a_host(registry):
    assert errors(registry, {"strategy": "redis"}) == [
        "config.redis.host: required field missing",
        "config: failed conditional validation given value of field 'strategy'",
    ]
    conf = load(registry, {"strategy": "redis", "redis": {"host": "127.0.0.1"}})
    assert conf["redis"]["host"] == "127.0.0.1"
