"""jwt's configuration schema: Kong's defaults and messages, the JWKS fields."""

from __future__ import annotations

import pytest

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings

REGISTRY = build_registry(Settings(plugins_dirs=[]))
PREFIX = "kong.yml: plugins[0] (name=jwt): "


def _load(conf, **plugin_fields):
    data = {"_format_version": "3.0", "plugins": [{"name": "jwt", "config": conf, **plugin_fields}]}
    return load_data(data, REGISTRY, source="kong.yml")


def _errors(conf, **plugin_fields):
    with pytest.raises(ConfigError) as excinfo:
        _load(conf, **plugin_fields)
    return [e.removeprefix(PREFIX) for e in excinfo.value.errors]


def test_defaults():
    assert _load({}).plugins[0]["config"] == {
        "uri_param_names": ["jwt"],
        "cookie_names": [],
        "key_claim_name": "iss",
        "secret_is_base64": False,
        "claims_to_verify": None,
        "anonymous": None,
        "run_on_preflight": True,
        "maximum_expiration": 0,
        "header_names": ["authorization"],
        "realm": None,
        "jwks_uri": None,
        "jwks_ttl": 300,
        "jwks_algorithms": ["RS256", "ES256"],
        "jwks_consumer_claim": None,
    }


def test_priority_and_protocols():
    spec = next(s for s in REGISTRY if s.name == "jwt")
    assert spec.priority == 1450
    assert spec.no_consumer
    assert _load({}).plugins[0]["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_maximum_expiration_with_exp_is_valid():
    conf = _load({"maximum_expiration": 60, "claims_to_verify": ["exp", "nbf"]}).plugins[0]["config"]
    assert conf["maximum_expiration"] == 60


@pytest.mark.parametrize(
    ("conf", "error"),
    [
        ({"maximum_expiration": -1}, "config.maximum_expiration: value should be between 0 and 31536000"),
        (
            {"maximum_expiration": 31536001},
            "config.maximum_expiration: value should be between 0 and 31536000",
        ),
        (
            {"maximum_expiration": 60, "claims_to_verify": ["nbf"]},
            "config.claims_to_verify: expected to contain: exp",
        ),
        ({"claims_to_verify": ["iat"]}, "config.claims_to_verify[0]: expected one of: exp, nbf"),
        ({"secret_is_base64": None}, "config.secret_is_base64: required field missing"),
        ({"run_on_preflight": "yes"}, "config.run_on_preflight: expected a boolean"),
        ({"uri_param_names": "jwt"}, "config.uri_param_names: expected a set"),
        ({"key_claim_name": 1}, "config.key_claim_name: expected a string"),
        ({"jwks_uri": "notaurl"}, "config.jwks_uri: missing host in url"),
        ({"jwks_ttl": 0}, "config.jwks_ttl: value must be greater than 0"),
        ({"jwks_algorithms": []}, "config.jwks_algorithms: length must be at least 1"),
        (
            {"jwks_algorithms": ["HS256"]},
            "config.jwks_algorithms[0]: expected one of: RS256, RS384, RS512, ES256, ES384, ES512, PS256, "
            "PS384, PS512, EdDSA",
        ),
        ({"bogus": 1}, "config.bogus: unknown field"),
    ],
)
def test_validation_errors(conf, error):
    assert error in _errors(conf)


def test_cannot_be_consumer_scoped():
    data = {
        "_format_version": "3.0",
        "consumers": [{"username": "alice", "plugins": [{"name": "jwt"}]}],
    }
    with pytest.raises(ConfigError) as excinfo:
        load_data(data, REGISTRY, source="kong.yml")
    assert (
        "kong.yml: consumers[0].plugins[0] (name=jwt): consumer: value must be null" in excinfo.value.errors
    )


def test_jwt_secrets_entity_needs_a_public_key_for_rs256():
    data = {
        "_format_version": "3.0",
        "consumers": [{"username": "alice", "jwt_secrets": [{"key": "k", "algorithm": "RS256"}]}],
    }
    with pytest.raises(ConfigError) as excinfo:
        load_data(data, REGISTRY, source="kong.yml")
    assert any("rsa_public_key" in e for e in excinfo.value.errors)
