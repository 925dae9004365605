"""Typedefs: overrides, unknown names, and the validators behind them (Kong's messages)."""

from __future__ import annotations

from typing import Any

import pytest

from host.schema import Schema, scope_flags, typedefs


def check(typedef: dict[str, Any], value: Any) -> Any:
    return Schema({"fields": [{"f": typedef}]}).validate({"f": value})[1].get("f")


def test_calling_a_typedef_overrides_attributes_without_changing_it() -> None:
    port = typedefs.port({"default": 80}, required=True)
    assert port == {
        "type": "integer",
        "between": [0, 65535],
        "description": typedefs.port["description"],
        "default": 80,
        "required": True,
    }
    assert "default" not in typedefs.port
    assert repr(port) == "typedefs.port"


def test_unknown_typedef_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="schema typedef error: definition 'prot' does not exist"):
        typedefs.prot  # noqa: B018
    assert "port" in typedefs.names() and "no_consumer" in dir(typedefs)


@pytest.mark.parametrize(
    ("name", "good", "bad", "message"),
    [
        ("port", 8080, 70000, "value should be between 0 and 65535"),
        ("timeout", 0, -1, "value should be between 0 and 2147483646"),
        ("http_method", "PATCH", "patch", "invalid value: patch"),
        (
            "protocol",
            "grpcs",
            "ftp",
            "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
        ),
        ("host", "example.com", "example.com:80", "must not have a port"),
        ("host", "10.0.0.1", "exa mple", "invalid value: exa mple"),
        ("host", "[::1]", "a..b", "invalid value: a..b"),
        ("host_with_optional_port", "example.com:8080", "example.com:99999", "invalid port number"),
        ("host_with_optional_port", "10.0.0.1:80", "bad host", "invalid hostname: bad host"),
        ("wildcard_host", "*.example.com", "a.*.com", "wildcard must be leftmost or rightmost character"),
        ("wildcard_host", "example.*", "*.example.*", "only one wildcard must be specified"),
        ("wildcard_host", "example.com", "10.0.0.1", "must not be an IP"),
        ("sni", "example.com", "example.com:443", "must not have a port"),
        ("ip", "::1", "1.2.3", "not an ip address: 1.2.3"),
        ("ipv4", "10.1.2.3", "::1", "not an ipv4 address: ::1"),
        ("ipv6", "fe80::1", "10.1.2.3", "not an ipv6 address: 10.1.2.3"),
        ("ip_or_cidr", "10.0.0.0/8", "10.0.0.0/33", "invalid ip or cidr range: '10.0.0.0/33'"),
        ("ip_or_cidr", "fd00::/8", "nope", "invalid ip or cidr range: 'nope'"),
        ("cidr_v4", "10.0.0.0/8", "fd00::/8", "invalid ipv4 cidr range: 'fd00::/8'"),
        ("cidr", "10.0.0.1", "10.0.0.0/08", "invalid ipv4 cidr range: '10.0.0.0/08'"),
        ("cidr_v6", "fd00::/8", "10.0.0.0/8", "invalid ipv6 cidr range: '10.0.0.0/8'"),
        ("path", "/a/b%20c", "a", "should start with: /"),
        ("path", "/a", "/a//b", "must not have empty segments"),
        (
            "path",
            "/a",
            "/a b",
            "invalid path: '/a b' (characters outside of the reserved list of RFC 3986 found)",
        ),
        ("path", "/a%2F", "/a%zz", "invalid url-encoded value: '%zz'"),
        ("url", "https://example.com/x", "example.com/x", "missing host in url"),
        ("url", "http://example.com", "//example.com", "missing scheme in url"),
        (
            "header_name",
            "X-Request_Id",
            "X Request",
            "bad header name 'X Request', allowed characters are A-Z, a-z, 0-9, '_', and '-'",
        ),
        (
            "cookie_name",
            "session",
            "a;b",
            'contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.',
        ),
        (
            "name",
            "my-name.1~",
            "my name",
            "invalid value 'my name': it must only contain alphanumeric and '., -, _, ~' characters",
        ),
        (
            "utf8_name",
            "café-1",
            "a/b",
            "invalid value 'a/b': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
        ),
        ("uuid", "3a0b5f6e-0cbd-4e54-9d3e-1d6e0c1a3f9a", "nope", "expected a valid UUID"),
        ("semantic_version", "1.2.3-beta", "v1", "invalid version number: must be in format of X.Y.Z"),
        ("semantic_version", "1.2.3", "1..2", "must not have empty version segments"),
        ("ttl", 3600, -1, "value should be between 0 and 100000000"),
    ],
)
def test_typedef_validation(name: str, good: Any, bad: Any, message: str) -> None:
    typedef = getattr(typedefs, name)
    assert check(typedef, good) is None
    assert check(typedef, bad) == message


def test_tags() -> None:
    assert check(typedefs.tags, ["team a", "é"]) is None
    assert check(typedefs.tags, ["ok", "a,b"]) == {
        1: "invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/orders", None),
        ("~/v[0-9]+/orders$", None),
        ("~/(?<version>v\\d+)/x", None),
        ("orders", "should start with: / (fixed path) or ~/ (regex path)"),
        ("/a//b", "must not have empty segments"),
        ("/a/../b", "non-normalized path, consider use '/b' instead"),
        ("/a/./b", "non-normalized path, consider use '/a/b' instead"),
        ("/caf%C3%A9", "non-normalized path, consider use '/café' instead"),
        ("/a%2Fb", None),
        ("/a%2fb", "non-normalized path, consider use '/a%2Fb' instead"),
        ("/bad%zz", "invalid url-encoded value: '%zz'"),
        ("~/v(1", "invalid regex: '/v(1' (PCRE returned: missing ), unterminated subpattern at position 2)"),
    ],
)
def test_router_path(path: str, message: str | None) -> None:
    assert check(typedefs.router_path, path) == message


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("example.com", None),
        ("*.example.com", None),
        ("example.*", None),
        ("example.com:8080", None),
        ("*.*.com", "invalid wildcard: must have at most one wildcard"),
        ("a.*.com", "invalid wildcard: must be placed at leftmost or rightmost label"),
        ("exa mple.com", "invalid hostname: exa mple.com"),
    ],
)
def test_route_hosts(host: str, message: str | None) -> None:
    result = check(typedefs.hosts, [host])
    assert result == (None if message is None else {0: message})


def test_sources_need_ip_or_port() -> None:
    assert check(typedefs.sources, [{"ip": "10.0.0.0/8"}, {"port": 80}]) is None
    assert check(typedefs.sources, [{}]) == {
        0: {"@entity": ["at least one of these fields must be non-empty: 'ip', 'port'"]}
    }


def test_queue_defaults() -> None:
    schema = Schema({"fields": [{"queue": typedefs.queue}]}, entity=True)
    assert schema.defaults()["queue"] == {
        "max_batch_size": 1,
        "max_coalescing_delay": 1,
        "max_entries": 10000,
        "max_bytes": None,
        "max_retry_time": 60,
        "initial_retry_delay": 0.01,
        "max_retry_delay": 60,
        "concurrency_limit": 1,
    }


def test_protocols_defaults_are_the_http_subsystem() -> None:
    schema = Schema({"fields": [{"protocols": typedefs.protocols}, {"p2": typedefs.protocols_http}]})
    assert schema.defaults() == {
        "protocols": ["grpc", "grpcs", "http", "https"],
        "p2": ["grpc", "grpcs", "http", "https"],
    }
    assert check(typedefs.protocols_http, ["tcp"]) == {0: "expected one of: grpc, grpcs, http, https"}


def test_no_consumer_and_scope_flags() -> None:
    definition = {
        "fields": [
            {"consumer": typedefs.no_consumer},
            {"route": typedefs.no_route},
            {"config": {"type": "record", "fields": []}},
        ]
    }
    assert scope_flags(definition) == (True, True, False)
    assert check(typedefs.no_consumer, {"id": "3a0b5f6e-0cbd-4e54-9d3e-1d6e0c1a3f9a"}) == "value must be null"
    assert check(typedefs.no_consumer, None) is None


def test_certificate_and_key_typedefs(pem_pair: tuple[str, str]) -> None:
    cert, key = pem_pair
    assert check(typedefs.certificate, cert) is None
    assert check(typedefs.key, key) is None
    assert check(typedefs.certificate, "nope") == "invalid certificate: unable to load PEM certificate"
    assert check(typedefs.key, cert) == "invalid key: unable to load unencrypted PEM private key"
