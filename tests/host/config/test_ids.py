"""Deterministic ids: Kong's UUIDv5 scheme, stable across loads, equal for nested and top-level forms."""

from __future__ import annotations

import uuid

from host.config import load_file, load_text
from host.config.ids import ROOT_NAMESPACE, entity_id
from host.plugins.spec import PluginRegistry

from .conftest import FIXTURES

NESTED = """
_format_version: "3.0"
services:
- name: svc
  url: http://upstream:8080
  routes:
  - name: r1
    paths: [/a]
    plugins:
    - name: rate-limiting
      config: {minute: 1}
  - paths: [/unnamed]
  plugins:
  - name: key-auth
consumers:
- username: alice
  acls: [{group: admins}]
  basicauth_credentials: [{username: alice-basic, password: pw}]
  plugins:
  - name: rate-limiting
    config: {second: 1}
upstreams:
- name: up
  targets: [{target: "10.0.0.1"}]
"""

TOP_LEVEL = """
_format_version: "3.0"
services:
- name: svc
  url: http://upstream:8080
routes:
- name: r1
  service: svc
  paths: [/a]
- paths: [/unnamed]
  service: svc
plugins:
- name: rate-limiting
  route: r1
  config: {minute: 1}
- name: key-auth
  service: svc
- name: rate-limiting
  consumer: alice
  config: {second: 1}
consumers:
- username: alice
acls:
- {consumer: alice, group: admins}
basicauth_credentials:
- {consumer: alice, username: alice-basic, password: pw}
upstreams:
- name: up
targets:
- {upstream: up, target: "10.0.0.1:8000"}
"""


def _ids(config) -> dict[str, list[str]]:  # noqa: ANN001
    out = {
        name: sorted(e["id"] for e in getattr(config, name))
        for name in ("services", "routes", "plugins", "consumers", "upstreams", "targets")
    }
    out.update({name: sorted(e["id"] for e in entities) for name, entities in config.credentials.items()})
    return out


def test_nested_and_top_level_forms_give_the_same_entities(registry: PluginRegistry) -> None:
    nested = load_text(NESTED, registry)
    flat = load_text(TOP_LEVEL, registry)
    assert _ids(nested) == _ids(flat)

    def by_id(config):  # noqa: ANN001, ANN202
        return {
            e["id"]: e for name in ("services", "routes", "plugins", "targets") for e in getattr(config, name)
        }

    assert by_id(nested) == by_id(flat)


def test_ids_are_stable_across_loads(registry: PluginRegistry) -> None:
    first = load_file(FIXTURES / "kong.yml", registry)
    second = load_file(FIXTURES / "kong.yml", registry)
    assert _ids(first) == _ids(second)
    assert first == second  # timestamps and everything else too (no auto-generated secrets in this file)


def test_kong_namespace_scheme() -> None:
    # the same ids Kong generates: services "my-service", routes "my-route", consumers "my-user"
    # (values from Kong's spec/02-integration/04-admin_api/15-off_spec.lua)
    assert entity_id("services", "my-service") == "0855b320-0dd2-547d-891d-601e9b38647f"
    assert entity_id("routes", "my-route") == "481a9539-f49c-51b6-b2e2-fe99ee68866c"
    assert entity_id("consumers", "my-user") == "4b1b701d-de2b-5588-9aa2-3b97061d9f52"
    assert entity_id("services", "x") == str(uuid.uuid5(uuid.uuid5(ROOT_NAMESPACE, "services"), "x"))


def test_plugin_ids_come_from_the_cache_key(registry: PluginRegistry) -> None:
    config = load_text(NESTED, registry)
    service = config.services[0]["id"]
    key_auth = next(p for p in config.plugins if p["name"] == "key-auth")
    assert key_auth["id"] == entity_id("plugins", f"plugins:*:key-auth::{service}:")


def test_given_ids_are_kept_and_used_for_references(registry: PluginRegistry) -> None:
    given = "9f6c2b7e-3a56-4c8e-9a55-6f1f5b0a1e2d"
    config = load_text(
        f"""
_format_version: "3.0"
services:
- {{id: {given}, host: example.com}}
routes:
- {{service: {given}, paths: [/x]}}
""",
        registry,
    )
    assert config.services[0]["id"] == given
    assert config.routes[0]["service"] == {"id": given}


def test_entities_without_a_natural_key_get_content_ids(registry: PluginRegistry) -> None:
    text = """
_format_version: "3.0"
services:
- host: a.example.com
- host: b.example.com
consumers:
- username: c
  keyauth_credentials: [{key: k1}, {key: k2}]
"""
    first, second = load_text(text, registry), load_text(text, registry)
    assert [s["id"] for s in first.services] == [s["id"] for s in second.services]
    assert first.services[0]["id"] != first.services[1]["id"]
    keys = first.credentials["keyauth_credentials"]
    assert len({k["id"] for k in keys}) == 2
    # a key-auth key is a secret: it never feeds the (public) id
    renamed = load_text(text.replace("k1", "other").replace("k2", "third"), registry)
    assert [k["id"] for k in renamed.credentials["keyauth_credentials"]] == [k["id"] for k in keys]


def test_auto_generated_key_is_random_but_id_is_stable(registry: PluginRegistry) -> None:
    text = '_format_version: "3.0"\nconsumers:\n- username: c\n  keyauth_credentials: [{}]\n'
    first, second = load_text(text, registry), load_text(text, registry)
    a, b = first.credentials["keyauth_credentials"][0], second.credentials["keyauth_credentials"][0]
    assert a["id"] == b["id"]
    assert len(a["key"]) >= 20 and a["key"] != b["key"]
