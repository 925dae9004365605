"""Input formats: JSON and YAML give the same result; 1.1/2.1 files are migrated; _comment/_ignore."""

from __future__ import annotations

import dataclasses

from host.config import load_data, load_file, load_text
from host.config.parse import migrate_route_paths
from host.plugins.spec import PluginRegistry

from .conftest import FIXTURES


def _without_source(config) -> dict:  # noqa: ANN001
    data = dataclasses.asdict(config)
    data.pop("source")
    return data


def test_json_file_is_equivalent_to_yaml(registry: PluginRegistry) -> None:
    from_yaml = load_file(FIXTURES / "kong.yml", registry)
    from_json = load_file(FIXTURES / "kong.json", registry)
    assert from_json.source == "kong.json"
    assert _without_source(from_json) == _without_source(from_yaml)


def test_json_text_is_detected_by_content(registry: PluginRegistry) -> None:
    text = (FIXTURES / "kong.json").read_text()
    assert _without_source(load_text(text, registry)) == _without_source(
        load_file(FIXTURES / "kong.yml", registry)
    )


def test_yaml_flow_mapping_that_is_not_json_still_parses(registry: PluginRegistry) -> None:
    config = load_text("{_format_version: '3.0', consumers: [{username: a}]}", registry)
    assert config.consumers[0]["username"] == "a"


def test_comment_and_ignore_are_accepted_everywhere(registry: PluginRegistry) -> None:
    config = load_data(
        {
            "_format_version": "3.0",
            "_comment": "top",
            "_ignore": [{"anything": True}],
            "services": [
                {
                    "name": "s",
                    "host": "h",
                    "_comment": "svc",
                    "_ignore": ["x"],
                    "routes": [
                        {
                            "paths": ["/"],
                            "_comment": "r",
                            "plugins": [{"name": "correlation-id", "_ignore": []}],
                        }
                    ],
                }
            ],
        },
        registry,
    )
    assert "_comment" not in config.services[0] and "_ignore" not in config.routes[0]
    assert "_ignore" not in config.plugins[0]


def test_format_1_1_route_paths_are_migrated(registry: PluginRegistry) -> None:
    text = """
_format_version: "1.1"
services:
- name: s
  host: h
  routes:
  - name: nested
    paths: ["/users/\\\\d+", "/plain/path", "/a/./b"]
routes:
- name: top
  service: s
  paths: ["/v1/(?<id>[a-z]+)$", "/caf%C3%A9"]
"""
    config = load_text(text, registry)
    paths = {r["name"]: r["paths"] for r in config.routes}
    assert paths == {
        "nested": ["~/users/\\d+", "/plain/path", "/a/b"],
        "top": ["~/v1/(?<id>[a-z]+)$", "/café"],
    }


def test_migration_decodes_percent_escapes_in_regexes() -> None:
    document = {"routes": [{"paths": ["/a%2Eb(c)", "/x%2fy(z)", "/%7Bq"]}]}
    migrate_route_paths(document)
    assert document["routes"][0]["paths"] == ["~/a\\.b(c)", "~/x%2Fy(z)", "/{q"]


def test_format_2_1_is_accepted(registry: PluginRegistry) -> None:
    config = load_text('_format_version: "2.1"\nroutes: [{paths: ["/a$"]}]\n', registry)
    assert config.routes[0]["paths"] == ["~/a$"]
