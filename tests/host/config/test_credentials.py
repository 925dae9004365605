"""Credential entities: transformations (_transform), generated values and their checks."""

from __future__ import annotations

import base64
import hashlib

import pytest

from host.config import ConfigError, load_text
from host.config.credentials import basicauth_hash, pbkdf2_hash
from host.plugins.spec import PluginRegistry

from .pki import make_cert


def load(registry: PluginRegistry, body: str, transform: str = ""):  # noqa: ANN201
    return load_text('_format_version: "3.0"\n' + transform + body, registry, source="kong.yml")


def test_basic_auth_password_is_hashed_with_the_consumer_id(registry: PluginRegistry) -> None:
    config = load(
        registry,
        "consumers:\n- username: alice\n  basicauth_credentials: [{username: alice, password: pw}]\n",
    )
    consumer_id = config.consumers[0]["id"]
    (credential,) = config.credentials["basicauth_credentials"]
    assert credential["password"] == hashlib.sha1(f"pw{consumer_id}".encode()).hexdigest()
    assert credential["password"] == basicauth_hash("pw", consumer_id)


def test_transform_false_keeps_passwords_as_given(registry: PluginRegistry) -> None:
    body = "consumers:\n- username: alice\n  basicauth_credentials: [{username: alice, password: 0123abcd}]\n"
    config = load(registry, body, transform="_transform: false\n")
    assert config.credentials["basicauth_credentials"][0]["password"] == "0123abcd"


def test_top_level_credentials_refer_to_consumers_by_username_or_id(registry: PluginRegistry) -> None:
    body = """
consumers:
- {id: 8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11, username: alice}
basicauth_credentials:
- {consumer: alice, username: a1, password: x}
- {consumer: 8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11, username: a2, password: y}
"""
    config = load(registry, body)
    assert [c["consumer"]["id"] for c in config.credentials["basicauth_credentials"]] == [
        "8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11"
    ] * 2


def test_basic_auth_requires_username_and_password(registry: PluginRegistry) -> None:
    with pytest.raises(ConfigError) as info:
        load(registry, "consumers:\n- username: alice\n  basicauth_credentials: [{}]\n")
    assert info.value.errors == [
        "kong.yml: consumers[0].basicauth_credentials[0]: username: required field missing",
        "kong.yml: consumers[0].basicauth_credentials[0]: password: required field missing",
    ]


def test_key_auth_keys_must_be_unique_and_are_never_shown(registry: PluginRegistry) -> None:
    body = "consumers:\n- username: a\n  keyauth_credentials: [{key: k}]\n- username: b\n  keyauth_credentials: [{key: k}]\n"
    with pytest.raises(ConfigError) as info:
        load(registry, body)
    assert info.value.errors == [
        "kong.yml: consumers[1].keyauth_credentials[0]: uniqueness violation: 'keyauth_credentials' entity with key set to 'k' already declared"
    ]


def test_jwt_defaults_and_generated_secrets(registry: PluginRegistry) -> None:
    config = load(registry, "consumers:\n- username: a\n  jwt_secrets: [{key: issuer-a}]\n")
    (secret,) = config.credentials["jwt_secrets"]
    assert secret["algorithm"] == "HS256" and secret["key"] == "issuer-a" and secret["rsa_public_key"] is None
    assert isinstance(secret["secret"], str) and len(secret["secret"]) >= 20


def test_jwt_rsa_algorithms_need_a_public_key(registry: PluginRegistry) -> None:
    cert, key = make_cert("jwt.example")
    body = "consumers:\n- username: a\n  jwt_secrets:\n  - {key: k1, algorithm: RS256}\n  - {key: k2, algorithm: PS512, rsa_public_key: nope}\n"
    with pytest.raises(ConfigError) as info:
        load(registry, body)
    assert info.value.errors == [
        "kong.yml: consumers[0].jwt_secrets[0] (key=k1): rsa_public_key: required field missing",
        "kong.yml: consumers[0].jwt_secrets[0] (key=k1): failed conditional validation given value of field 'algorithm'",
        "kong.yml: consumers[0].jwt_secrets[1] (key=k2): rsa_public_key: invalid key",
        "kong.yml: consumers[0].jwt_secrets[1] (key=k2): failed conditional validation given value of field 'algorithm'",
    ]
    from cryptography.hazmat.primitives import serialization

    public = serialization.load_pem_private_key(key.encode(), None).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    indented = pem.replace("\n", "\n      ")
    config = load(
        registry,
        f"consumers:\n- username: a\n  jwt_secrets:\n  - key: k1\n    algorithm: RS256\n    rsa_public_key: |\n      {indented}\n",
    )
    assert config.credentials["jwt_secrets"][0]["rsa_public_key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_acl_groups_are_unique_per_consumer(registry: PluginRegistry) -> None:
    body = (
        "consumers:\n- username: a\n  acls: [{group: g}, {group: g}]\n- username: b\n  acls: [{group: g}]\n"
    )
    with pytest.raises(ConfigError) as info:
        load(registry, body)
    assert info.value.errors == [
        "kong.yml: consumers[0].acls[1] (group=g): uniqueness violation: 'acls' entity with group set to 'g' already declared for consumer 'a'"
    ]


def test_hmac_auth_secret_is_generated(registry: PluginRegistry) -> None:
    config = load(registry, "consumers:\n- username: a\n  hmacauth_credentials: [{username: h}]\n")
    (credential,) = config.credentials["hmacauth_credentials"]
    assert credential["username"] == "h" and len(credential["secret"]) >= 20


def test_oauth2_credentials(registry: PluginRegistry) -> None:
    body = """
consumers:
- username: a
  oauth2_credentials:
  - {name: app, client_id: cid, client_secret: plain, redirect_uris: ["https://app.example/cb"]}
  - {name: hashed, client_id: cid2, client_secret: s3cret, hash_secret: true}
"""
    plain, hashed = load(registry, body).credentials["oauth2_credentials"]
    assert (plain["client_secret"], plain["hash_secret"], plain["client_type"]) == (
        "plain",
        False,
        "confidential",
    )
    prefix, algorithm, params, salt, digest = hashed["client_secret"].split("$")
    assert (prefix, algorithm, params) == ("", "pbkdf2-sha512", "i=10000,l=32")
    raw_salt = base64.b64decode(salt + "=" * (-len(salt) % 4))
    expected = hashlib.pbkdf2_hmac("sha512", b"s3cret", raw_salt, 10000, 32)
    assert base64.b64decode(digest + "=" * (-len(digest) % 4)) == expected
    assert pbkdf2_hash("x", b"0" * 16) == pbkdf2_hash("x", b"0" * 16)


def test_oauth2_redirect_uris_are_checked(registry: PluginRegistry) -> None:
    body = "consumers:\n- username: a\n  oauth2_credentials: [{name: app, redirect_uris: [nope, 'https://x.example/cb#frag']}]\n"
    with pytest.raises(ConfigError) as info:
        load(registry, body)
    assert info.value.errors == [
        "kong.yml: consumers[0].oauth2_credentials[0] (name=app): redirect_uris[0]: cannot parse 'nope'",
        "kong.yml: consumers[0].oauth2_credentials[0] (name=app): redirect_uris[1]: fragment not allowed in 'https://x.example/cb#frag'",
    ]
