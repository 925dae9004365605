"""Invalid files: every error line, complete and exact, and nothing loaded."""

from __future__ import annotations

import textwrap

import pytest

from host.config import ConfigError, format_error, load_data, load_file, load_text
from host.plugins.spec import PluginRegistry

HEAD = '_format_version: "3.0"\n'


def errors_of(registry: PluginRegistry, body: str, *, head: str = HEAD) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_text(head + textwrap.dedent(body), registry, source="kong.yml")
    assert str(info.value).count("\n") == len(info.value.errors)
    return info.value.errors


def one_error(registry: PluginRegistry, body: str) -> str:
    errors = errors_of(registry, body)
    assert len(errors) == 1, errors
    return errors[0]


def test_format_error() -> None:
    assert (
        format_error("kong.yml", "services[0]", "name=a", "port", "expected an integer")
        == "kong.yml: services[0] (name=a): port: expected an integer"
    )
    assert format_error("kong.yml", "consumers[1]", None, None, "boom") == "kong.yml: consumers[1]: boom"
    assert format_error("kong.yml", None, None, "foo", "unknown field") == "kong.yml: foo: unknown field"


class TestDocument:
    def test_yaml_syntax_error_points_at_the_line(self, registry: PluginRegistry) -> None:
        with pytest.raises(ConfigError) as info:
            load_text(
                '_format_version: "3.0"\nservices:\n- name: a\n  host: x: y\n', registry, source="kong.yml"
            )
        (line,) = info.value.errors
        assert line.startswith("kong.yml: line 4, column 10: mapping values are not allowed")

    def test_yaml_duplicate_keys_are_errors(self, registry: PluginRegistry) -> None:
        with pytest.raises(ConfigError) as info:
            load_text(
                '_format_version: "3.0"\nservices:\n- name: a\n  name: b\n', registry, source="kong.yml"
            )
        assert info.value.errors == ["kong.yml: line 4, column 3: duplicate key 'name'"]

    def test_json_syntax_error_points_at_the_line(self, registry: PluginRegistry) -> None:
        with pytest.raises(ConfigError) as info:
            load_text('{\n  "_format_version": "3.0",\n  "services": [}\n', registry, source="kong.json")
        assert info.value.errors == ["kong.json: line 3, column 16: Expecting value"]

    @pytest.mark.parametrize(
        ("text", "got"),
        [("", "nothing (the document is empty)"), ("- a\n- b\n", "an array"), ("hello\n", "a string")],
    )
    def test_top_level_must_be_a_mapping(self, registry: PluginRegistry, text: str, got: str) -> None:
        with pytest.raises(ConfigError) as info:
            load_text(text, registry, source="kong.yml")
        assert info.value.errors == [f"kong.yml: expected an object at the top level, got {got}"]

    def test_format_version(self, registry: PluginRegistry) -> None:
        assert errors_of(registry, "services: []\n", head="") == [
            "kong.yml: _format_version: required field missing"
        ]
        assert errors_of(registry, "", head="_format_version: 3.0\n") == [
            'kong.yml: _format_version: expected a string (quote it: _format_version: "3.0")'
        ]
        assert errors_of(registry, "", head='_format_version: "4.0"\n') == [
            "kong.yml: _format_version: expected one of: 1.1, 2.1, 3.0"
        ]

    def test_meta_keys_and_unknown_top_level_keys(self, registry: PluginRegistry) -> None:
        body = """
        _transform: "yes"
        _comment: [1]
        _ignore: nope
        servics: []
        vaults: []
        services: {name: a}
        """
        assert errors_of(registry, body) == [
            "kong.yml: _transform: expected a boolean",
            "kong.yml: _comment: expected a string",
            "kong.yml: _ignore: expected an array",
            "kong.yml: servics: unknown field",
            "kong.yml: vaults: unknown field ('vaults' is not supported by Moongate)",
            "kong.yml: services: expected an array",
        ]

    def test_credentials_of_a_disabled_plugin(self) -> None:
        errors = errors_of(PluginRegistry(), "keyauth_credentials: []\n")
        assert errors == [
            "kong.yml: keyauth_credentials: unknown field (entities of the 'key-auth' plugin, which is not enabled)"
        ]

    def test_entities_must_be_records(self, registry: PluginRegistry) -> None:
        assert errors_of(registry, "services: [orders]\nconsumers: [{username: a, plugins: {}}]\n") == [
            "kong.yml: services[0]: expected a record",
            "kong.yml: consumers[0] (username=a): plugins: expected an array",
        ]

    def test_comment_and_ignore_in_entities_are_checked(self, registry: PluginRegistry) -> None:
        assert errors_of(registry, "consumers: [{username: a, _comment: 1, _ignore: x}]\n") == [
            "kong.yml: consumers[0] (username=a): _comment: expected a string",
            "kong.yml: consumers[0] (username=a): _ignore: expected an array",
        ]

    def test_missing_file(self, registry: PluginRegistry, tmp_path) -> None:  # noqa: ANN001
        with pytest.raises(ConfigError) as info:
            load_file(tmp_path / "nope.yml", registry)
        assert info.value.errors == ["nope.yml: cannot read file: No such file or directory"]

    def test_not_utf8(self, registry: PluginRegistry, tmp_path) -> None:  # noqa: ANN001
        path = tmp_path / "bad.yml"
        path.write_bytes(b'_format_version: "3.0"\n# \xff\n')
        with pytest.raises(ConfigError) as info:
            load_file(path, registry)
        assert info.value.errors == ["bad.yml: not valid UTF-8 (invalid byte at offset 25)"]

    def test_load_data_with_a_non_mapping(self, registry: PluginRegistry) -> None:
        with pytest.raises(ConfigError, match="expected an object at the top level, got an array"):
            load_data([], registry)


class TestServices:
    @pytest.mark.parametrize(
        ("service", "line"),
        [
            ("{name: s, host: 'example.com:80'}", "services[0] (name=s): host: must not have a port"),
            ("{name: s}", "services[0] (name=s): host: required field missing"),
            (
                "{name: s, host: h, port: 70000}",
                "services[0] (name=s): port: value should be between 0 and 65535",
            ),
            ("{name: s, host: h, port: '80'}", "services[0] (name=s): port: expected an integer"),
            (
                "{name: s, host: h, protocol: ftp}",
                "services[0] (name=s): protocol: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
            ),
            ("{name: s, host: h, path: api}", "services[0] (name=s): path: should start with: /"),
            ("{name: s, host: h, path: /a//b}", "services[0] (name=s): path: must not have empty segments"),
            (
                "{name: s, host: h, retries: -1}",
                "services[0] (name=s): retries: value should be between 0 and 32767",
            ),
            (
                "{name: s, host: h, read_timeout: 0}",
                "services[0] (name=s): read_timeout: value should be between 1 and 2147483646",
            ),
            (
                "{name: 'my svc', host: h}",
                "services[0] (name=my svc): name: invalid value 'my svc': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
            ),
            ("{name: s, url: 'http://:8080'}", "services[0] (name=s): host: required field missing"),
            ("{name: s, host: h, colour: red}", "services[0] (name=s): colour: unknown field"),
        ],
    )
    def test_field_errors(self, registry: PluginRegistry, service: str, line: str) -> None:
        assert one_error(registry, f"services: [{service}]\n") == f"kong.yml: {line}"

    def test_path_must_be_null_for_stream_and_grpc_protocols(self, registry: PluginRegistry) -> None:
        assert errors_of(registry, "services: [{name: s, host: h, protocol: tcp, path: /x}]\n") == [
            "kong.yml: services[0] (name=s): path: value must be null",
            "kong.yml: services[0] (name=s): failed conditional validation given value of field 'protocol'",
        ]

    def test_tls_settings_only_with_https_or_tls(self, registry: PluginRegistry) -> None:
        assert errors_of(registry, "services: [{name: s, host: h, tls_verify: true}]\n") == [
            "kong.yml: services[0] (name=s): tls_verify: value must be null",
            "kong.yml: services[0] (name=s): failed conditional validation given value of field 'protocol'",
        ]


class TestRoutes:
    @pytest.mark.parametrize(
        ("route", "line"),
        [
            ("{name: r, paths: [orders]}", "paths[0]: should start with: / (fixed path) or ~/ (regex path)"),
            ("{name: r, paths: [/a, '/b//c']}", "paths[1]: must not have empty segments"),
            ("{name: r, paths: [/a/../b]}", "paths[0]: non-normalized path, consider use '/b' instead"),
            (
                "{name: r, paths: ['~/v(1']}",
                "paths[0]: invalid regex: '/v(1' (PCRE returned: missing ), unterminated subpattern at position 2)",
            ),
            ("{name: r, methods: [get]}", "methods[0]: invalid value: get"),
            ("{name: r, hosts: ['*.*.com']}", "hosts[0]: invalid wildcard: must have at most one wildcard"),
            (
                "{name: r, hosts: ['a.*.com']}",
                "hosts[0]: invalid wildcard: must be placed at leftmost or rightmost label",
            ),
            (
                "{name: r, headers: {Host: [x]}}",
                "headers: cannot contain 'host' header, which must be specified in the 'hosts' attribute",
            ),
            (
                "{name: r, paths: [/a], https_redirect_status_code: 303}",
                "https_redirect_status_code: expected one of: 426, 301, 302, 307, 308",
            ),
            ("{name: r, paths: [/a], path_handling: v2}", "path_handling: expected one of: v0, v1"),
            ("{name: r, paths: [/a], protocols: []}", "protocols: length must be at least 1"),
            (
                "{name: r, paths: [/a], protocols: [http, tcp]}",
                "protocols: these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')",
            ),
            (
                "{name: r, paths: [/a], sources: [{ip: 10.0.0.1}]}",
                "sources: cannot set 'sources' when 'protocols' is 'http' or 'https'",
            ),
            (
                "{name: r, paths: [/a], strip_path: true, protocols: [grpc]}",
                "strip_path: cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'",
            ),
            (
                "{name: r, protocols: [http]}",
                "must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'",
            ),
            (
                "{name: r}",
                "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'",
            ),
            (
                "{name: r, protocols: [tcp]}",
                "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'",
            ),
        ],
    )
    def test_route_errors(self, registry: PluginRegistry, route: str, line: str) -> None:
        assert one_error(registry, f"routes: [{route}]\n") == f"kong.yml: routes[0] (name=r): {line}"

    def test_snis_only_with_https_like_protocols(self, registry: PluginRegistry) -> None:
        assert errors_of(
            registry, "routes: [{name: r, protocols: [http], paths: [/a], snis: [example.com]}]\n"
        ) == [
            "kong.yml: routes[0] (name=r): snis: length must be 0",
            "kong.yml: routes[0] (name=r): 'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
        ]

    def test_nested_route_error_path(self, registry: PluginRegistry) -> None:
        body = "services:\n- name: s\n  host: h\n  routes:\n  - {name: ok, paths: [/a]}\n  - {name: orders, paths: [orders]}\n"
        assert one_error(registry, body) == (
            "kong.yml: services[0].routes[1] (name=orders): paths[0]: should start with: / (fixed path) or ~/ (regex path)"
        )


class TestReferences:
    def test_dangling_references(self, registry: PluginRegistry) -> None:
        body = """
        routes: [{name: r, service: nope, paths: [/a]}]
        plugins: [{name: correlation-id, consumer: ghost}]
        targets: [{upstream: 8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11, target: 10.0.0.1}]
        acls: [{consumer: {id: 8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11}, group: g}]
        """
        assert errors_of(registry, body) == [
            "kong.yml: routes[0] (name=r): service: invalid reference 'service: nope' (no such entry in 'services')",
            "kong.yml: plugins[0] (name=correlation-id): consumer: invalid reference 'consumer: ghost' (no such entry in 'consumers')",
            "kong.yml: targets[0] (target=10.0.0.1): upstream: invalid reference 'upstream: 8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11' (no such entry in 'upstreams')",
            "kong.yml: acls[0] (group=g): consumer: invalid reference 'consumer: {\"id\":\"8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11\"}' (no such entry in 'consumers')",
        ]

    def test_reference_of_the_wrong_type(self, registry: PluginRegistry) -> None:
        assert (
            one_error(registry, "routes: [{name: r, service: 5, paths: [/a]}]\n")
            == "kong.yml: routes[0] (name=r): service: expected a string"
        )

    def test_missing_required_parent(self, registry: PluginRegistry) -> None:
        assert (
            one_error(registry, "targets: [{target: 10.0.0.1}]\n")
            == "kong.yml: targets[0] (target=10.0.0.1): upstream: required field missing"
        )

    def test_nested_entities_cannot_set_foreign_keys(self, registry: PluginRegistry) -> None:
        body = """
        consumers: [{username: a}]
        services:
        - name: s
          host: h
          routes: [{name: r, service: s, paths: [/a]}]
          plugins: [{name: correlation-id, consumer: a}]
        """
        assert errors_of(registry, body) == [
            "kong.yml: services[0].routes[0] (name=r): service: value must be null (it is taken from the enclosing 'services' entry)",
            "kong.yml: services[0].plugins[0] (name=correlation-id): consumer: value must be null (an entity nested in "
            "'services' cannot also refer to 'consumers'; declare it at the top level)",
        ]


class TestUniqueness:
    def test_duplicates_across_the_file(self, registry: PluginRegistry) -> None:
        body = """
        services:
        - {name: s, host: h, routes: [{name: r, paths: [/a]}]}
        - {name: s, host: h2}
        routes: [{name: r, service: s, paths: [/b]}]
        consumers:
        - {username: a, custom_id: c1}
        - {username: b, custom_id: c1}
        upstreams: [{name: u, targets: [{target: 10.0.0.1}, {target: "10.0.0.1:8000"}]}]
        """
        assert errors_of(registry, body) == [
            "kong.yml: services[1] (name=s): uniqueness violation: 'services' entity with name set to 's' already declared",
            "kong.yml: routes[0] (name=r): uniqueness violation: 'routes' entity with name set to 'r' already declared",
            "kong.yml: consumers[1] (username=b): uniqueness violation: 'consumers' entity with custom_id set to 'c1' already declared",
            "kong.yml: upstreams[0].targets[1] (target=10.0.0.1:8000): uniqueness violation: 'targets' entity with target set to "
            "'10.0.0.1:8000' already declared for upstream 'u'",
        ]

    def test_one_plugin_per_name_and_scope(self, registry: PluginRegistry) -> None:
        body = """
        services: [{name: s, host: h, plugins: [{name: correlation-id}]}]
        consumers: [{username: alice}]
        plugins:
        - {name: correlation-id, service: s}
        - {name: correlation-id}
        - {name: correlation-id}
        - {name: correlation-id, service: s, consumer: alice}
        """
        assert errors_of(registry, body) == [
            "kong.yml: plugins[0] (name=correlation-id): uniqueness violation: 'plugins' entity with name set to 'correlation-id' "
            "already declared for service 's'",
            "kong.yml: plugins[2] (name=correlation-id): uniqueness violation: 'plugins' entity with name set to 'correlation-id' "
            "already declared globally",
        ]

    def test_duplicate_ids(self, registry: PluginRegistry) -> None:
        body = """
        consumers:
        - {id: 8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11, username: a}
        - {id: 8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11, username: b}
        """
        assert one_error(registry, body) == (
            "kong.yml: consumers[1] (username=b): uniqueness violation: 'consumers' entity with primary key set to "
            "'8d0fd4e7-1e58-4b37-8b1f-1b3c8d2c0a11' already declared"
        )

    def test_invalid_id(self, registry: PluginRegistry) -> None:
        assert (
            one_error(registry, "consumers: [{id: nope, username: a}]\n")
            == "kong.yml: consumers[0] (username=a): id: expected a valid UUID"
        )


class TestPlugins:
    def test_unknown_plugin(self, registry: PluginRegistry) -> None:
        assert one_error(registry, "plugins: [{name: nope}]\n") == (
            "kong.yml: plugins[0] (name=nope): name: plugin 'nope' not enabled; add it to the 'plugins' configuration property"
        )

    def test_plugin_without_name(self, registry: PluginRegistry) -> None:
        assert (
            one_error(registry, "plugins: [{config: {}}]\n")
            == "kong.yml: plugins[0]: name: required field missing"
        )

    def test_plugin_config_errors(self, registry: PluginRegistry) -> None:
        body = """
        plugins:
        - {name: correlation-id}
        - {name: correlation-id, route: null, service: null, enabled: true, protocols: [http]}
        - name: rate-limiting
          route: r
          config: {minute: fast, policy: memory, extra: 1}
          protocols: [tcp]
          enabled: "no"
        - {name: rate-limiting, consumer: a, config: {}}
        routes: [{name: r, paths: [/a]}]
        consumers: [{username: a}]
        """
        assert errors_of(registry, body) == [
            "kong.yml: plugins[1] (name=correlation-id): uniqueness violation: 'plugins' entity with name set to 'correlation-id' already declared globally",
            "kong.yml: plugins[2] (name=rate-limiting): config.minute: expected a number",
            "kong.yml: plugins[2] (name=rate-limiting): config.policy: expected one of: local, redis",
            "kong.yml: plugins[2] (name=rate-limiting): config.extra: unknown field",
            "kong.yml: plugins[2] (name=rate-limiting): protocols[0]: expected one of: grpc, grpcs, http, https",
            "kong.yml: plugins[2] (name=rate-limiting): enabled: expected a boolean",
            "kong.yml: plugins[3] (name=rate-limiting): config: at least one of these fields must be non-empty: 'second', 'minute'",
        ]

    def test_plugin_scoped_where_its_schema_forbids_it(self, registry: PluginRegistry) -> None:
        body = """
        consumers:
        - username: a
          plugins: [{name: key-auth}]
        plugins: [{name: basic-auth, consumer: a}]
        """
        assert errors_of(registry, body) == [
            "kong.yml: consumers[0].plugins[0] (name=key-auth): consumer: value must be null",
            "kong.yml: plugins[0] (name=basic-auth): consumer: value must be null",
        ]

    def test_scope_flags_of_the_spec_are_enforced_too(self, registry: PluginRegistry) -> None:
        from .conftest import make_spec

        spec = make_spec("flagged", {"fields": []})
        spec.no_route = True  # e.g. a Lua plugin whose flags come from elsewhere
        errors = errors_of(
            PluginRegistry([spec]), "routes: [{name: r, paths: [/a], plugins: [{name: flagged}]}]\n"
        )
        assert errors == ["kong.yml: routes[0].plugins[0] (name=flagged): route: value must be null"]


def test_all_errors_are_reported_at_once(registry: PluginRegistry) -> None:
    body = """
    wat: 1
    services:
    - name: s
      host: "h:1"
      routes: [{name: r, paths: [x], methods: [get]}]
    consumers: [{tags: [t]}]
    plugins: [{name: ghost}, {name: rate-limiting, config: {minute: 0}}]
    routes: [{name: r2, service: missing, paths: [/a]}]
    """
    assert errors_of(registry, body) == [
        "kong.yml: wat: unknown field",
        "kong.yml: services[0] (name=s): host: must not have a port",
        "kong.yml: services[0].routes[0] (name=r): methods[0]: invalid value: get",
        "kong.yml: services[0].routes[0] (name=r): paths[0]: should start with: / (fixed path) or ~/ (regex path)",
        "kong.yml: consumers[0]: at least one of these fields must be non-empty: 'custom_id', 'username'",
        "kong.yml: plugins[0] (name=ghost): name: plugin 'ghost' not enabled; add it to the 'plugins' configuration property",
        "kong.yml: plugins[1] (name=rate-limiting): config.minute: value must be greater than 0",
        "kong.yml: routes[0] (name=r2): service: invalid reference 'service: missing' (no such entry in 'services')",
    ]


def test_error_message_summary(registry: PluginRegistry) -> None:
    with pytest.raises(ConfigError) as info:
        load_text(HEAD + "a: 1\nb: 2\n", registry, source="kong.yml")
    assert (
        str(info.value)
        == "2 errors in declarative configuration:\nkong.yml: a: unknown field\nkong.yml: b: unknown field"
    )
