"""Certificates, SNIs and CA certificates: PEM parsing, key matching, nested SNIs."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from host.config import ConfigError, load_data
from host.plugins.spec import PluginRegistry

from .pki import make_cert


def load(registry: PluginRegistry, **sections: object):  # noqa: ANN201
    return load_data({"_format_version": "3.0", **sections}, registry, source="kong.yml")


def errors(registry: PluginRegistry, **sections: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(registry, **sections)
    return info.value.errors


def test_certificate_with_nested_snis_as_names_and_records(registry: PluginRegistry) -> None:
    cert, key = make_cert("example.com")
    config = load(
        registry,
        certificates=[
            {"cert": cert, "key": key, "snis": ["example.com", {"name": "*.example.com", "tags": ["w"]}]}
        ],
    )
    (certificate,) = config.certificates
    assert certificate["snis"] == ["*.example.com", "example.com"]
    assert certificate["cert_alt"] is None and certificate["key_alt"] is None
    assert [(s["name"], s["certificate"], s["tags"]) for s in config.snis] == [
        ("example.com", {"id": certificate["id"]}, None),
        ("*.example.com", {"id": certificate["id"]}, ["w"]),
    ]


def test_certificate_ids_are_stable_and_top_level_snis_refer_by_id(registry: PluginRegistry) -> None:
    cert, key = make_cert("example.com")
    first = load(registry, certificates=[{"cert": cert, "key": key}])
    cert_id = first.certificates[0]["id"]
    second = load(
        registry,
        certificates=[{"cert": cert, "key": key}],
        snis=[{"name": "a.example.com", "certificate": cert_id}],
    )
    assert second.certificates[0]["id"] == cert_id
    assert second.certificates[0]["snis"] == ["a.example.com"]


def test_service_client_certificate_reference(registry: PluginRegistry) -> None:
    cert, key = make_cert("client")
    cert_id = "6f4b1d2c-7c0e-4a55-9a3c-2f6a3e8b9d10"
    config = load(
        registry,
        certificates=[{"id": cert_id, "cert": cert, "key": key}],
        services=[{"name": "s", "url": "https://backend", "client_certificate": cert_id}],
    )
    assert config.services[0]["client_certificate"] == {"id": cert_id}
    assert config.services[0]["port"] == 443


def test_key_must_match_certificate(registry: PluginRegistry) -> None:
    cert, _ = make_cert("a.example")
    _, other_key = make_cert("b.example")
    assert errors(registry, certificates=[{"cert": cert, "key": other_key}]) == [
        "kong.yml: certificates[0]: certificate does not match key"
    ]


def test_unparsable_pem(registry: PluginRegistry) -> None:
    assert errors(registry, certificates=[{"cert": "nope", "key": "nope"}]) == [
        "kong.yml: certificates[0]: cert: invalid certificate: unable to load PEM certificate",
        "kong.yml: certificates[0]: key: invalid key: unable to load unencrypted PEM private key",
    ]


def test_alternative_certificate_rules(registry: PluginRegistry) -> None:
    cert, key = make_cert("a.example")
    ec_cert, ec_key = make_cert("a.example", "ec")
    rsa2_cert, rsa2_key = make_cert("b.example")
    config = load(registry, certificates=[{"cert": cert, "key": key, "cert_alt": ec_cert, "key_alt": ec_key}])
    assert config.certificates[0]["cert_alt"] == ec_cert
    assert errors(registry, certificates=[{"cert": cert, "key": key, "cert_alt": ec_cert}]) == [
        "kong.yml: certificates[0]: all or none of these fields must be set: 'cert_alt', 'key_alt'"
    ]
    assert errors(
        registry, certificates=[{"cert": cert, "key": key, "cert_alt": rsa2_cert, "key_alt": rsa2_key}]
    ) == [
        "kong.yml: certificates[0]: certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), "
        "the provided certificates were both of the same type"
    ]
    assert errors(
        registry,
        certificates=[{"cert": cert, "key": key, "cert_alt": ec_cert, "key_alt": make_cert("c", "ec")[1]}],
    ) == ["kong.yml: certificates[0]: alternative certificate does not match key"]


def test_sni_rules(registry: PluginRegistry) -> None:
    cert, key = make_cert("example.com")
    assert errors(
        registry,
        certificates=[
            {"cert": cert, "key": key, "snis": ["10.0.0.1", "a.*.com", "ok.example.com", "ok.example.com"]}
        ],
    ) == [
        "kong.yml: certificates[0].snis[0] (name=10.0.0.1): name: must not be an IP",
        "kong.yml: certificates[0].snis[1] (name=a.*.com): name: wildcard must be leftmost or rightmost character",
        "kong.yml: certificates[0].snis[3] (name=ok.example.com): uniqueness violation: 'snis' entity with name set to "
        "'ok.example.com' already declared",
    ]


def test_ca_certificates(registry: PluginRegistry) -> None:
    ca, _ = make_cert("My CA", ca=True)
    config = load(registry, ca_certificates=[{"cert": ca}])
    der = x509.load_pem_x509_certificate(ca.encode()).public_bytes(serialization.Encoding.DER)
    assert config.ca_certificates[0]["cert_digest"] == hashlib.sha256(der).hexdigest()
    json.dumps(config.ca_certificates)


def test_ca_certificate_checks(registry: PluginRegistry) -> None:
    leaf, _ = make_cert("leaf")
    ca, _ = make_cert("CA", ca=True)
    expired, _ = make_cert("Old CA", ca=True, days=-5)
    assert errors(registry, ca_certificates=[{"cert": leaf}, {"cert": ca + ca}, {"cert": expired}]) == [
        'kong.yml: ca_certificates[0]: certificate does not appear to be a CA because it is missing the "CA" basic constraint',
        "kong.yml: ca_certificates[1]: please submit only one certificate at a time",
        'kong.yml: ca_certificates[2]: certificate expired, "Not After" time is in the past',
    ]


def test_configuration_hash_follows_certificate_changes(registry: PluginRegistry) -> None:
    from host.config.snapshot import Snapshot

    first, second = make_cert("one.example"), make_cert("two.example")
    hashes = {
        Snapshot(load(registry, certificates=[{"cert": c, "key": k, "snis": ["a.example"]}]), registry).hash
        for c, k in (first, second, first)
    }
    assert len(hashes) == 2  # a reload that only swaps a certificate is a new configuration
