"""A realistic complete file loads into flat entities with every Kong default filled in."""

from __future__ import annotations

import hashlib
import json

import pytest

from host.config import DeclarativeConfig, load_file, load_text
from host.config.ids import entity_id
from host.plugins.spec import PluginRegistry

from .conftest import FIXTURES


@pytest.fixture(scope="module")
def config(registry: PluginRegistry) -> DeclarativeConfig:
    return load_file(FIXTURES / "kong.yml", registry)


def by_name(entities: list[dict], name: str, key: str = "name") -> dict:
    return next(e for e in entities if e[key] == name)


def test_counts_and_source(config: DeclarativeConfig) -> None:
    assert config.source == "kong.yml"
    assert config.entity_counts() == {
        "consumers": 2,
        "certificates": 0,
        "ca_certificates": 0,
        "services": 3,
        "routes": 4,
        "snis": 0,
        "upstreams": 1,
        "targets": 2,
        "plugins": 4,
        "keyauth_credentials": 1,
        "basicauth_credentials": 1,
        "jwt_secrets": 0,
        "acls": 2,
        "hmacauth_credentials": 0,
        "oauth2_credentials": 0,
    }


def test_service_from_url_shorthand_with_all_defaults(config: DeclarativeConfig) -> None:
    assert by_name(config.services, "orders") == {
        "id": entity_id("services", "orders"),
        "created_at": 0,
        "updated_at": 0,
        "name": "orders",
        "retries": 3,
        "protocol": "http",
        "host": "orders-upstream",
        "port": 8080,
        "path": "/api",
        "connect_timeout": 60000,
        "write_timeout": 60000,
        "read_timeout": 60000,
        "tags": ["shop", "orders"],
        "client_certificate": None,
        "tls_verify": None,
        "tls_verify_depth": None,
        "ca_certificates": None,
        "enabled": True,
    }


def test_explicit_service_fields(config: DeclarativeConfig) -> None:
    billing = by_name(config.services, "billing")
    assert (billing["protocol"], billing["host"], billing["port"], billing["path"]) == (
        "https",
        "billing.internal",
        8443,
        "/v1",
    )
    assert (
        billing["retries"],
        billing["connect_timeout"],
        billing["read_timeout"],
        billing["tls_verify"],
    ) == (5, 5000, 60000, True)
    assert "_comment" not in billing
    events = by_name(config.services, "events")
    assert (events["protocol"], events["port"], events["path"]) == ("grpc", 9000, None)


def test_nested_route_with_all_defaults(config: DeclarativeConfig) -> None:
    assert by_name(config.routes, "orders-route") == {
        "id": entity_id("routes", "orders-route"),
        "created_at": 0,
        "updated_at": 0,
        "name": "orders-route",
        "protocols": ["http", "https"],
        "https_redirect_status_code": 426,
        "strip_path": True,
        "preserve_host": False,
        "request_buffering": True,
        "response_buffering": True,
        "tags": None,
        "service": {"id": entity_id("services", "orders")},
        "snis": None,
        "sources": None,
        "destinations": None,
        "methods": ["GET", "POST"],
        "hosts": None,
        "paths": ["/orders", "~/v[0-9]+/orders$"],
        "headers": None,
        "regex_priority": 0,
        "path_handling": "v0",
    }


def test_route_overrides_and_top_level_references(config: DeclarativeConfig) -> None:
    admin = by_name(config.routes, "orders-admin")
    assert admin["protocols"] == ["https"] and admin["https_redirect_status_code"] == 301
    assert (admin["strip_path"], admin["preserve_host"], admin["regex_priority"]) == (False, True, 5)
    assert admin["headers"] == {"x-role": ["admin"]}
    billing = by_name(config.routes, "billing-route")
    assert billing["service"] == {"id": by_name(config.services, "billing")["id"]}
    grpc = by_name(config.routes, "events-route")
    assert grpc["strip_path"] is False  # the grpc subschema's default


def test_plugins_scopes_and_config_defaults(config: DeclarativeConfig) -> None:
    orders = by_name(config.services, "orders")["id"]
    route = by_name(config.routes, "orders-route")["id"]
    alice = by_name(config.consumers, "alice", "username")["id"]
    scopes = {
        (
            p["name"],
            (p["route"] or {}).get("id"),
            (p["service"] or {}).get("id"),
            (p["consumer"] or {}).get("id"),
        ): p
        for p in config.plugins
    }
    assert set(scopes) == {
        ("rate-limiting", route, None, None),
        ("key-auth", None, orders, None),
        ("correlation-id", None, None, None),
        ("rate-limiting", None, orders, alice),
    }
    assert scopes["rate-limiting", route, None, None]["config"] == {
        "second": None,
        "minute": 60,
        "policy": "local",
        "limit_by": "consumer",
    }
    key_auth = scopes["key-auth", None, orders, None]
    assert key_auth["config"] == {"key_names": ["x-api-key"], "hide_credentials": False}
    assert key_auth["protocols"] == ["grpc", "grpcs", "http", "https"]
    assert key_auth["enabled"] is True and key_auth["instance_name"] is None and key_auth["ordering"] is None
    assert scopes["correlation-id", None, None, None]["config"] == {"header_name": "Kong-Request-ID"}


def test_upstream_defaults_and_healthchecks(config: DeclarativeConfig) -> None:
    upstream = config.upstreams[0]
    assert {k: v for k, v in upstream.items() if k != "healthchecks"} == {
        "id": entity_id("upstreams", "orders-upstream"),
        "created_at": 0,
        "name": "orders-upstream",
        "updated_at": 0,
        "algorithm": "consistent-hashing",
        "hash_on": "header",
        "hash_fallback": "none",
        "hash_on_header": "x-user",
        "hash_fallback_header": None,
        "hash_on_cookie": None,
        "hash_on_cookie_path": "/",
        "hash_on_query_arg": None,
        "hash_fallback_query_arg": None,
        "hash_on_uri_capture": None,
        "hash_fallback_uri_capture": None,
        "slots": 10000,
        "tags": None,
        "host_header": None,
        "client_certificate": None,
        "use_srv_name": False,
    }
    assert upstream["healthchecks"] == {
        "active": {
            "type": "http",
            "timeout": 1,
            "concurrency": 10,
            "http_path": "/",
            "https_sni": None,
            "https_verify_certificate": True,
            "headers": None,
            "healthy": {"interval": 5, "http_statuses": [200, 302], "successes": 2},
            "unhealthy": {
                "interval": 0,
                "http_statuses": [429, 404, 500, 501, 502, 503, 504, 505],
                "tcp_failures": 0,
                "timeouts": 0,
                "http_failures": 0,
            },
        },
        "passive": {
            "type": "http",
            "healthy": {
                "http_statuses": [
                    200,
                    201,
                    202,
                    203,
                    204,
                    205,
                    206,
                    207,
                    208,
                    226,
                    300,
                    301,
                    302,
                    303,
                    304,
                    305,
                    306,
                    307,
                    308,
                ],
                "successes": 0,
            },
            "unhealthy": {
                "http_statuses": [429, 500, 503],
                "tcp_failures": 0,
                "timeouts": 0,
                "http_failures": 0,
            },
        },
        "threshold": 0,
    }


def test_targets_are_normalized_with_default_port_and_weight(config: DeclarativeConfig) -> None:
    upstream_id = config.upstreams[0]["id"]
    assert [(t["target"], t["weight"], t["upstream"]) for t in config.targets] == [
        ("10.0.0.11:8080", 100, {"id": upstream_id}),
        ("10.0.0.12:8000", 100, {"id": upstream_id}),
    ]
    assert config.targets[0]["created_at"] == 0.0 and isinstance(config.targets[0]["created_at"], float)
    assert config.targets[0]["id"] == entity_id("targets", f"targets:*:{upstream_id}:10.0.0.11:8080")


def test_consumers_and_credentials(config: DeclarativeConfig) -> None:
    alice = by_name(config.consumers, "alice", "username")
    bob = by_name(config.consumers, "bob-002", "custom_id")
    assert alice == {
        "id": entity_id("consumers", "alice"),
        "created_at": 0,
        "updated_at": 0,
        "username": "alice",
        "custom_id": "alice-001",
        "tags": None,
    }
    assert bob["username"] is None and bob["tags"] == ["partner"]
    (key,) = config.credentials["keyauth_credentials"]
    assert key == {
        "id": key["id"],
        "created_at": 0,
        "consumer": {"id": alice["id"]},
        "key": "alice-secret-key",
        "tags": None,
        "ttl": None,
    }
    (basic,) = config.credentials["basicauth_credentials"]
    assert basic["password"] == hashlib.sha1(("s3cret" + alice["id"]).encode()).hexdigest()
    assert [a["group"] for a in config.credentials["acls"]] == ["admins", "users"]
    assert config.credentials["acls"][0]["id"] == entity_id("acls", f"acls:*:{alice['id']}:admins")
    assert set(config.credentials) == {
        "keyauth_credentials", "basicauth_credentials", "jwt_secrets", "acls", "hmacauth_credentials", "oauth2_credentials",
    }  # fmt: skip


def test_every_entity_is_plain_json(config: DeclarativeConfig) -> None:
    everything = [
        *config.services,
        *config.routes,
        *config.plugins,
        *config.upstreams,
        *config.targets,
        *config.consumers,
    ]
    assert json.loads(json.dumps(everything)) == everything


def test_lists_follow_the_file_with_parents_first(config: DeclarativeConfig) -> None:
    assert [r["name"] for r in config.routes] == [
        "orders-route",
        "orders-admin",
        "billing-route",
        "events-route",
    ]
    assert [p["name"] for p in config.plugins] == [
        "rate-limiting",
        "key-auth",
        "correlation-id",
        "rate-limiting",
    ]


def test_minimal_file(registry: PluginRegistry) -> None:
    config = load_text('_format_version: "3.0"\n', registry)
    assert config.entity_counts() == dict.fromkeys(config.entity_counts(), 0)


def test_input_data_is_not_modified(registry: PluginRegistry) -> None:
    from host.config import load_data

    data = {
        "_format_version": "1.1",
        "services": [{"name": "s", "url": "http://x", "routes": [{"paths": ["/a.+"]}]}],
    }
    snapshot = json.dumps(data, sort_keys=True)
    config = load_data(data, registry)
    assert json.dumps(data, sort_keys=True) == snapshot
    assert config.routes[0]["paths"] == ["~/a.+"]


def test_timestamps_from_the_file_are_kept(registry: PluginRegistry) -> None:
    text = """
_format_version: "3.0"
services:
- {name: a, host: h, created_at: 1700000000, updated_at: 1700000500.0}
- {name: b, host: h, created_at: 1700000000, updated_at: "yesterday"}
upstreams: [{name: u, targets: [{target: "10.0.0.1", created_at: 1700000000.5}]}]
"""
    config = load_text(text, registry)
    assert [(s["created_at"], s["updated_at"]) for s in config.services] == [
        (1700000000, 1700000500),
        (1700000000, 1700000000),
    ]
    assert isinstance(config.services[0]["updated_at"], int)
    assert (config.targets[0]["created_at"], config.targets[0]["updated_at"]) == (1700000000.5, 1700000000.5)


def test_invalid_timestamps_are_reported(registry: PluginRegistry) -> None:
    from host.config import ConfigError

    with pytest.raises(ConfigError) as info:
        load_text(
            '_format_version: "3.0"\nconsumers: [{username: a, created_at: -5}]\n',
            registry,
            source="kong.yml",
        )
    assert info.value.errors == [
        "kong.yml: consumers[0] (username=a): created_at: expected a valid timestamp"
    ]
