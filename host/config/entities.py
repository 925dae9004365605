"""The entity types a declarative file may contain, with their schemas and relations.

Core schemas follow ``kong/db/schema/entities/*.lua`` (fields, defaults, checks);
the plugin entity is special: each plugin brings its own schema (see
:mod:`host.schema.plugins`).  Plugins add entity types of their own (Kong's
``daos.lua``): the credentials of the auth plugins Moongate knows
(:mod:`host.config.credentials`) and whatever a loaded plugin declares
(:mod:`host.config.plugin_entities`), all described by :class:`EntityType` and
loaded by the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from host.config.transformations import Transformation
from host.schema import Schema, typedefs
from host.schema._text import parse_url

__all__ = ["EntityType", "catalog", "SERVICES", "ROUTES", "CONSUMERS"]

_NONZERO_TIMEOUT = typedefs.Typedef("nonzero_timeout", {"type": "integer", "between": [1, 2**31 - 2]})


@dataclass(frozen=True)
class EntityType:
    """One collection of a declarative file (``services``, ``keyauth_credentials``, ...)."""

    name: str
    schema: Schema | None  # None for plugins: each plugin has its own schema
    endpoint_key: str | None = None  # a unique field that references may use instead of the id
    cache_key: tuple[str, ...] = ()  # fields identifying the entity (ids are derived from them)
    label: tuple[str, ...] = ()  # fields shown in error lines, first one set wins
    secret: tuple[str, ...] = ()  # fields never used for ids or labels
    plugin: str | None = None  # plugin entities: the plugin that defines them
    foreign: dict[str, str] = field(default_factory=dict)  # fk field -> referenced entity
    primary_key: tuple[str, ...] = ("id",)
    workspaceable: bool = True  # whether kong.db cache keys carry the workspace id
    transformations: tuple[Transformation, ...] = ()  # run on write when ``_transform`` is true

    @property
    def singular(self) -> str:
        return self.name[:-1] if self.name.endswith("s") else self.name


def _entity(name: str, definition: dict[str, Any], **meta: Any) -> EntityType:
    schema = Schema(definition, name=name, entity=True)
    return EntityType(name=name, schema=schema, foreign=schema.foreign_fields(), **meta)


def _url_shorthand(value: Any) -> dict[str, Any]:
    """Service ``url``: split into protocol, host, port and path (Kong's rules for defaults)."""
    if value is None:
        return {}
    parsed = parse_url(str(value))
    port_text = parsed["port"]
    port: Any = int(port_text) if port_text and port_text.isdigit() else None
    guessed = {80: "http", 443: "https"}.get(port) if port is not None else None
    protocol = parsed["scheme"] or guessed or "http"
    if port is None:
        port = port_text if port_text else {"http": 80, "https": 443}.get(protocol, 80)
    return {"protocol": protocol, "host": parsed["host"], "port": port, "path": parsed["path"]}


def _tls_only(field_name: str) -> dict[str, Any]:
    return {
        "conditional": {
            "if_field": "protocol",
            "if_match": {"not_one_of": ["https", "tls"]},
            "then_field": field_name,
            "then_match": {"eq": None},
        }
    }


SERVICES = _entity(
    "services",
    {
        "fields": [
            {"id": typedefs.uuid},
            {"created_at": typedefs.auto_timestamp_s},
            {"updated_at": typedefs.auto_timestamp_s},
            {"name": typedefs.utf8_name},
            {
                "retries": {
                    "type": "integer",
                    "default": 5,
                    "between": [0, 32767],
                    "description": "Retries on failure.",
                }
            },
            {"protocol": typedefs.protocol(required=True, default="http")},
            {"host": typedefs.host(required=True)},
            {"port": typedefs.port(required=True, default=80)},
            {"path": typedefs.path},
            {"connect_timeout": _NONZERO_TIMEOUT(default=60000)},
            {"write_timeout": _NONZERO_TIMEOUT(default=60000)},
            {"read_timeout": _NONZERO_TIMEOUT(default=60000)},
            {"tags": typedefs.tags},
            {"client_certificate": {"type": "foreign", "reference": "certificates"}},
            {"tls_verify": {"type": "boolean"}},
            {"tls_verify_depth": {"type": "integer", "default": None, "between": [0, 64]}},
            {"ca_certificates": {"type": "array", "elements": {"type": "string", "uuid": True}}},
            {"enabled": {"type": "boolean", "required": True, "default": True}},
        ],
        "entity_checks": [
            {
                "conditional": {
                    "if_field": "protocol",
                    "if_match": {"one_of": ["tcp", "tls", "udp", "grpc", "grpcs"]},
                    "then_field": "path",
                    "then_match": {"eq": None},
                }
            },
            _tls_only("client_certificate"),
            _tls_only("tls_verify"),
            _tls_only("tls_verify_depth"),
            _tls_only("ca_certificates"),
        ],
        "shorthand_fields": [{"url": {"type": "string", "func": _url_shorthand}}],
    },
    endpoint_key="name",
    label=("name",),
)

_STREAM = "'tcp', 'tls', 'tls_passthrough' or 'udp'"
_HTTP_SUBSCHEMA = {
    "fields": [
        {"sources": typedefs.no_sources(err="cannot set 'sources' when 'protocols' is 'http' or 'https'")},
        {
            "destinations": typedefs.no_destinations(
                err="cannot set 'destinations' when 'protocols' is 'http' or 'https'"
            )
        },
    ],
    "entity_checks": [
        {
            "conditional_at_least_one_of": {
                "if_field": "protocols",
                "if_match": {"contains": "https"},
                "then_at_least_one_of": ["methods", "hosts", "headers", "paths", "snis"],
                "then_err": "must set one of %s when 'protocols' is 'https'",
                "else_match": {"contains": "http"},
                "else_then_at_least_one_of": ["methods", "hosts", "headers", "paths"],
                "else_then_err": "must set one of %s when 'protocols' is 'http'",
            }
        }
    ],
}
_STREAM_SUBSCHEMA = {
    "fields": [
        {"methods": typedefs.no_methods(err=f"cannot set 'methods' when 'protocols' is {_STREAM}")},
        {"hosts": typedefs.no_hosts(err=f"cannot set 'hosts' when 'protocols' is {_STREAM}")},
        {"paths": typedefs.no_paths(err=f"cannot set 'paths' when 'protocols' is {_STREAM}")},
        {"headers": typedefs.no_headers(err=f"cannot set 'headers' when 'protocols' is {_STREAM}")},
    ],
    "entity_checks": [
        {
            "conditional_at_least_one_of": {
                "if_field": "protocols",
                "if_match": {"elements": {"type": "string", "one_of": ["tcp", "tls", "udp"]}},
                "then_at_least_one_of": ["sources", "destinations", "snis"],
                "then_err": "must set one of %s when 'protocols' is 'tcp', 'tls' or 'udp'",
            }
        },
        {
            "conditional_at_least_one_of": {
                "if_field": "protocols",
                "if_match": {"elements": {"type": "string", "one_of": ["tls_passthrough"]}},
                "then_at_least_one_of": ["snis"],
                "then_err": "must set snis when 'protocols' is 'tls_passthrough'",
            }
        },
    ],
}
_GRPC_SUBSCHEMA = {
    "fields": [
        {
            "strip_path": {
                "type": "boolean",
                "required": True,
                "default": False,
                "ne": True,
                "err": "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'",
            }
        },
        {"methods": typedefs.no_methods(err="cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'")},
        {"sources": typedefs.no_sources(err="cannot set 'sources' when 'protocols' is 'grpc' or 'grpcs'")},
        {
            "destinations": typedefs.no_sources(
                err="cannot set 'destinations' when 'protocols' is 'grpc' or 'grpcs'"
            )
        },
    ],
    "entity_checks": [
        {
            "conditional_at_least_one_of": {
                "if_field": "protocols",
                "if_match": {"contains": "grpcs"},
                "then_at_least_one_of": ["hosts", "headers", "paths", "snis"],
                "then_err": "must set one of %s when 'protocols' is 'grpcs'",
                "else_match": {"contains": "grpc"},
                "else_then_at_least_one_of": ["hosts", "headers", "paths"],
                "else_then_err": "must set one of %s when 'protocols' is 'grpc'",
            }
        }
    ],
}

ROUTES = _entity(
    "routes",
    {
        "fields": [
            {"id": typedefs.uuid},
            {"created_at": typedefs.auto_timestamp_s},
            {"updated_at": typedefs.auto_timestamp_s},
            {"name": typedefs.utf8_name},
            {
                "protocols": {
                    "type": "set",
                    "len_min": 1,
                    "required": True,
                    "elements": typedefs.protocol,
                    "mutually_exclusive_subsets": [
                        ["http", "https"],
                        ["tcp", "tls", "udp"],
                        ["tls_passthrough"],
                        ["grpc", "grpcs"],
                    ],
                    "default": ["http", "https"],
                }
            },
            {
                "https_redirect_status_code": {
                    "type": "integer",
                    "one_of": [426, 301, 302, 307, 308],
                    "default": 426,
                    "required": True,
                }
            },
            {"strip_path": {"type": "boolean", "required": True, "default": True}},
            {"preserve_host": {"type": "boolean", "required": True, "default": False}},
            {"request_buffering": {"type": "boolean", "required": True, "default": True}},
            {"response_buffering": {"type": "boolean", "required": True, "default": True}},
            {"tags": typedefs.tags},
            {"service": {"type": "foreign", "reference": "services"}},
            {"snis": {"type": "set", "elements": typedefs.wildcard_host}},
            {"sources": typedefs.sources},
            {"destinations": typedefs.destinations},
            {"methods": typedefs.methods},
            {"hosts": typedefs.hosts},
            {"paths": typedefs.router_paths},
            {
                "headers": typedefs.headers(
                    keys=typedefs.header_name(
                        match_none=[
                            {
                                "pattern": "^[Hh][Oo][Ss][Tt]$",
                                "err": "cannot contain 'host' header, which must be specified in the 'hosts' attribute",
                            }
                        ]
                    )
                )
            },
            {"regex_priority": {"type": "integer", "default": 0}},
            {"path_handling": {"type": "string", "default": "v0", "one_of": ["v0", "v1"]}},
        ],
        "entity_checks": [
            {
                "conditional": {
                    "if_field": "protocols",
                    "if_match": {
                        "elements": {
                            "type": "string",
                            "not_one_of": ["grpcs", "https", "tls", "tls_passthrough"],
                        }
                    },
                    "then_field": "snis",
                    "then_match": {"len_eq": 0},
                    "then_err": "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
                }
            }
        ],
        "subschema_key": "protocols",
        "subschemas": {
            "http": _HTTP_SUBSCHEMA,
            "https": _HTTP_SUBSCHEMA,
            "tcp": _STREAM_SUBSCHEMA,
            "tls": _STREAM_SUBSCHEMA,
            "udp": _STREAM_SUBSCHEMA,
            "tls_passthrough": _STREAM_SUBSCHEMA,
            "grpc": _GRPC_SUBSCHEMA,
            "grpcs": _GRPC_SUBSCHEMA,
        },
    },
    endpoint_key="name",
    label=("name",),
)

CONSUMERS = _entity(
    "consumers",
    {
        "fields": [
            {"id": typedefs.uuid},
            {"created_at": typedefs.auto_timestamp_s},
            {"updated_at": typedefs.auto_timestamp_s},
            {"username": {"type": "string", "unique": True}},
            {"custom_id": {"type": "string", "unique": True}},
            {"tags": typedefs.tags},
        ],
        "entity_checks": [{"at_least_one_of": ["custom_id", "username"]}],
    },
    endpoint_key="username",
    label=("username", "custom_id"),
)

PLUGINS = EntityType(
    name="plugins",
    schema=None,
    endpoint_key="instance_name",
    cache_key=("name", "route", "service", "consumer"),
    label=("name",),
    foreign={"route": "routes", "service": "services", "consumer": "consumers"},
)


@cache
def _core() -> tuple[EntityType, ...]:
    from host.config.certificates import CA_CERTIFICATES, CERTIFICATES, SNIS
    from host.config.upstreams import TARGETS, UPSTREAMS

    return (CONSUMERS, CERTIFICATES, CA_CERTIFICATES, SERVICES, ROUTES, SNIS, UPSTREAMS, TARGETS, PLUGINS)


def catalog(
    enabled_plugins: set[str] | frozenset[str], declared: Iterable[EntityType] = ()
) -> dict[str, EntityType]:
    """Every entity type available, in dependency order (referenced types first).

    Plugin entity types only exist when their plugin is enabled, as in Kong: the
    credentials Moongate defines for the auth plugins in ``enabled_plugins``, then
    ``declared``, the types enabled plugins declare themselves (a plugin's own
    ``daos.lua`` takes the place of Moongate's definition of the same name).
    """
    from host.config.credentials import CREDENTIALS

    types = {etype.name: etype for etype in _core()}
    plugin_types = {etype.name: etype for etype in CREDENTIALS if etype.plugin in enabled_plugins}
    for etype in declared:
        if etype.name not in types:
            plugin_types[etype.name] = etype
    types.update(_dependency_order(plugin_types, set(types)))
    return types


def _dependency_order(pending: dict[str, EntityType], known: set[str]) -> dict[str, EntityType]:
    """``pending`` with each type after the plugin types it refers to (cycles keep their order)."""
    ordered: dict[str, EntityType] = {}
    while pending:
        ready = [
            name
            for name, etype in pending.items()
            if all(ref in known or ref in ordered or ref not in pending or ref == name
                   for ref in etype.foreign.values())
        ] or [next(iter(pending))]  # fmt: skip
        for name in ready:
            ordered[name] = pending.pop(name)
    return ordered


def children_of(types: dict[str, EntityType], parent: str) -> dict[str, str]:
    """Entities that may be nested in ``parent``: child entity name -> its foreign key to the parent."""
    return {etype.name: fk for etype in types.values() for fk, ref in etype.foreign.items() if ref == parent}
