"""Core entity rules beyond the basics: url shorthand, upstream hashing, stream routes, plugin specs."""

from __future__ import annotations

from typing import Any

import pytest

from host.config import ConfigError, load_data
from host.config.entities import _url_shorthand
from host.plugins.spec import PluginRegistry, PluginSpec
from host.schema import Schema

from .pki import make_cert


def load(registry: PluginRegistry, **sections: Any):  # noqa: ANN201
    return load_data({"_format_version": "3.0", **sections}, registry, source="kong.yml")


def errors(registry: PluginRegistry, **sections: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(registry, **sections)
    return info.value.errors


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com", ("http", "example.com", 80, None)),
        ("https://example.com", ("https", "example.com", 443, None)),
        ("grpcs://example.com", ("grpcs", "example.com", 80, None)),
        ("https://user:pw@example.com:8443/a/b?q=1#f", ("https", "example.com", 8443, "/a/b")),
        ("http://[::1]:8080/x", ("http", "::1", 8080, "/x")),
        ("//example.com:443/x", ("https", "example.com", 443, "/x")),
        ("//example.com:8080", ("http", "example.com", 8080, None)),
    ],
)
def test_url_shorthand(url: str, expected: tuple) -> None:
    parts = _url_shorthand(url)
    assert (parts["protocol"], parts["host"], parts["port"], parts["path"]) == expected


def test_url_shorthand_null_does_nothing() -> None:
    assert _url_shorthand(None) == {}


def test_url_wins_over_explicit_fields(registry: PluginRegistry) -> None:
    config = load(
        registry, services=[{"name": "s", "host": "other", "port": 1, "url": "https://example.com/api"}]
    )
    service = config.services[0]
    assert (service["protocol"], service["host"], service["port"], service["path"]) == (
        "https",
        "example.com",
        443,
        "/api",
    )


def test_https_service_without_port_keeps_port_80_like_kong(registry: PluginRegistry) -> None:
    assert (
        load(registry, services=[{"name": "s", "protocol": "https", "host": "h"}]).services[0]["port"] == 80
    )


class TestUpstreams:
    def test_least_connections_resets_hash_on(self, registry: PluginRegistry) -> None:
        config = load(registry, upstreams=[{"name": "u", "algorithm": "least-connections", "hash_on": "ip"}])
        assert (config.upstreams[0]["algorithm"], config.upstreams[0]["hash_on"]) == (
            "least-connections",
            "none",
        )

    def test_hash_on_selects_consistent_hashing(self, registry: PluginRegistry) -> None:
        config = load(registry, upstreams=[{"name": "u", "hash_on": "ip"}, {"name": "v", "hash_on": "none"}])
        assert [(u["algorithm"], u["hash_on"]) for u in config.upstreams] == [
            ("consistent-hashing", "ip"),
            ("round-robin", "none"),
        ]

    def test_hash_rules(self, registry: PluginRegistry) -> None:
        upstreams = [
            {"name": "a", "hash_on": "header"},
            {"name": "b", "hash_on": "ip", "hash_fallback": "ip"},
            {
                "name": "c",
                "hash_on": "header",
                "hash_on_header": "x-a",
                "hash_fallback": "header",
                "hash_fallback_header": "x-a",
            },
            {"name": "10.0.0.1"},
            {"name": "u:80"},
        ]
        assert errors(registry, upstreams=upstreams) == [
            "kong.yml: upstreams[0] (name=a): hash_on_header: required field missing",
            "kong.yml: upstreams[0] (name=a): failed conditional validation given value of field 'hash_on'",
            "kong.yml: upstreams[1] (name=b): hash_fallback: expected one of: none, consumer, header, cookie, path, query_arg, uri_capture",
            "kong.yml: upstreams[1] (name=b): failed conditional validation given value of field 'hash_on'",
            "kong.yml: upstreams[2] (name=c): values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'",
            "kong.yml: upstreams[3] (name=10.0.0.1): name: Invalid name ('10.0.0.1'); no ip addresses allowed",
            "kong.yml: upstreams[4] (name=u:80): name: Invalid name ('u:80'); no port allowed",
        ]

    def test_healthcheck_values_are_checked(self, registry: PluginRegistry) -> None:
        upstream = {
            "name": "u",
            "healthchecks": {"active": {"healthy": {"http_statuses": [99]}, "type": "udp"}, "threshold": 101},
        }
        assert errors(registry, upstreams=[upstream]) == [
            "kong.yml: upstreams[0] (name=u): healthchecks.active.type: expected one of: tcp, http, https, grpc, grpcs",
            "kong.yml: upstreams[0] (name=u): healthchecks.active.healthy.http_statuses[0]: value should be between 100 and 999",
            "kong.yml: upstreams[0] (name=u): healthchecks.threshold: value should be between 0 and 100",
        ]

    def test_ipv6_targets_are_expanded(self, registry: PluginRegistry) -> None:
        config = load(
            registry,
            upstreams=[{"name": "u", "targets": [{"target": "[::1]:9000"}, {"target": "010.1.2.3"}]}],
        )
        assert [t["target"] for t in config.targets] == [
            "[0000:0000:0000:0000:0000:0000:0000:0001]:9000",
            "10.1.2.3:8000",
        ]


class TestStreamAndGrpcRoutes:
    def test_stream_route(self, registry: PluginRegistry) -> None:
        config = load(
            registry,
            services=[{"name": "s", "url": "tcp://backend:9000"}],
            routes=[
                {
                    "name": "r",
                    "service": "s",
                    "protocols": ["tcp"],
                    "destinations": [{"port": 9000}],
                    "sources": [{"ip": "10.0.0.0/8"}],
                }
            ],
        )
        assert config.routes[0]["destinations"] == [{"ip": None, "port": 9000}]
        assert config.routes[0]["sources"] == [{"ip": "10.0.0.0/8", "port": None}]

    def test_stream_route_rules(self, registry: PluginRegistry) -> None:
        routes = [
            {"name": "a", "protocols": ["tcp"], "paths": ["/x"], "sources": [{"port": 1}]},
            {"name": "b", "protocols": ["tls_passthrough"], "destinations": [{"port": 1}]},
            {"name": "c", "protocols": ["grpc"], "methods": ["GET"], "paths": ["/x"]},
        ]
        assert errors(registry, routes=routes) == [
            "kong.yml: routes[0] (name=a): paths: cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'",
            "kong.yml: routes[1] (name=b): must set snis when 'protocols' is 'tls_passthrough'",
            "kong.yml: routes[2] (name=c): methods: cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'",
        ]

    def test_https_route_may_match_on_snis_only(self, registry: PluginRegistry) -> None:
        config = load(registry, routes=[{"name": "r", "protocols": ["https"], "snis": ["*.example.com"]}])
        assert config.routes[0]["snis"] == ["*.example.com"]


class TestPluginSpecSchemas:
    """The loader copes with specs whose schema is not (yet) a plugin entity Schema."""

    def _registry(self, schema: Any) -> PluginRegistry:
        return PluginRegistry(
            [
                PluginSpec(
                    name="p",
                    version="1.0.0",
                    priority=1,
                    language="lua",
                    source="p/schema.lua",
                    schema=schema,
                )
            ]
        )

    def test_bare_definition(self) -> None:
        registry = self._registry(
            {"fields": [{"config": {"type": "record", "fields": [{"n": {"type": "integer", "default": 3}}]}}]}
        )
        assert load(registry, plugins=[{"name": "p"}]).plugins[0]["config"] == {"n": 3}

    def test_config_only_schema(self) -> None:
        registry = self._registry(Schema({"fields": [{"n": {"type": "integer", "default": 3}}]}))
        assert load(registry, plugins=[{"name": "p", "config": {"n": 4}}]).plugins[0]["config"] == {"n": 4}
        assert errors(registry, plugins=[{"name": "p", "config": {"n": "x"}}]) == [
            "kong.yml: plugins[0] (name=p): config.n: expected an integer"
        ]

    def test_no_schema_accepts_any_config(self) -> None:
        registry = self._registry(None)
        assert load(registry, plugins=[{"name": "p", "config": {"anything": [1]}}]).plugins[0]["config"] == {
            "anything": [1]
        }


def test_identical_ca_certificates_are_duplicates(registry: PluginRegistry) -> None:
    ca, _ = make_cert("Dup CA", ca=True)
    (line,) = errors(registry, ca_certificates=[{"cert": ca}, {"cert": ca}])
    assert line.startswith(
        "kong.yml: ca_certificates[1]: uniqueness violation: 'ca_certificates' entity with cert_digest set to '"
    )
