"""Upstream and target entities (``kong/db/schema/entities/upstreams.lua``, ``targets.lua``)."""

from __future__ import annotations

from typing import Any

from host.schema import Schema, typedefs
from host.schema._net import format_host, normalize_ip

__all__ = ["UPSTREAMS", "TARGETS", "normalize_target", "DEFAULT_TARGET_PORT"]

#: port given to a target written without one (Kong's ``DEFAULT_PORT`` in the targets DAO)
DEFAULT_TARGET_PORT = 8000

_HASH_ON = typedefs.Typedef(
    "hash_on",
    {
        "type": "string",
        "default": "none",
        "one_of": ["none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"],
    },
)
_SECONDS = typedefs.Typedef("seconds", {"type": "number", "between": [0, 65535]})
_COUNTER = typedefs.Typedef("counter", {"type": "integer", "between": [0, 255]})
_STATUSES = typedefs.Typedef(
    "http_statuses", {"type": "array", "elements": {"type": "integer", "between": [100, 999]}}
)
_CHECK_TYPE = {"type": "string", "one_of": ["tcp", "http", "https", "grpc", "grpcs"], "default": "http"}
_PARAM = {"type": "string", "len_min": 1}


def _record(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "fields": list(fields)}


_HEALTHCHECKS = {
    "type": "record",
    "description": "Active and passive health checks of the targets.",
    "fields": [
        {
            "active": _record(
                {"type": _CHECK_TYPE},
                {"timeout": _SECONDS(default=1)},
                {"concurrency": {"type": "integer", "between": [1, 2**31], "default": 10}},
                {"http_path": typedefs.path(default="/")},
                {"https_sni": typedefs.sni(required=False)},
                {"https_verify_certificate": {"type": "boolean", "default": True, "required": True}},
                {"headers": typedefs.headers(required=False)},
                {
                    "healthy": _record(
                        {"interval": _SECONDS(default=0)},
                        {"http_statuses": _STATUSES(default=[200, 302])},
                        {"successes": _COUNTER(default=0)},
                    )
                },
                {
                    "unhealthy": _record(
                        {"interval": _SECONDS(default=0)},
                        {"http_statuses": _STATUSES(default=[429, 404, 500, 501, 502, 503, 504, 505])},
                        {"tcp_failures": _COUNTER(default=0)},
                        {"timeouts": _COUNTER(default=0)},
                        {"http_failures": _COUNTER(default=0)},
                    )
                },
            )
        },
        {
            "passive": _record(
                {"type": _CHECK_TYPE},
                {
                    "healthy": _record(
                        {"http_statuses": _STATUSES(default=[*range(200, 209), 226, *range(300, 309)])},
                        {"successes": _COUNTER(default=0)},
                    )
                },
                {
                    "unhealthy": _record(
                        {"http_statuses": _STATUSES(default=[429, 500, 503])},
                        {"tcp_failures": _COUNTER(default=0)},
                        {"timeouts": _COUNTER(default=0)},
                        {"http_failures": _COUNTER(default=0)},
                    )
                },
            )
        },
        {"threshold": {"type": "number", "default": 0, "between": [0, 100]}},
    ],
}


#: Moongate's extension, not a Kong field (a Kong node refuses it as an unknown field):
#: a per-target circuit breaker, off while null (see sdk-docs/load-balancing.md)
_CIRCUIT_BREAKER = {
    "type": "record",
    "required": False,
    "description": (
        "Moongate extension (not in Kong): a circuit breaker per target. After `failures` "
        "consecutive connection failures or timeouts of proxied requests the target is left "
        "out for `cooldown` seconds, then one request probes it (half-open): a response "
        "closes the breaker, a failure opens it again. Null: no breaker."
    ),
    "fields": [
        {
            "failures": {
                "type": "integer",
                "required": True,
                "between": [1, 255],
                "description": "Consecutive connection failures or timeouts that open the breaker.",
            }
        },
        {
            "cooldown": {
                "type": "number",
                "default": 10,
                "between": [0, 3600],
                "description": "Seconds the breaker stays open before one probe request.",
            }
        },
    ],
}


def _name_error(name: str) -> str:
    return f"Invalid name ('{name}')"


def _validate_upstream_name(name: str) -> tuple[bool | None, str | None]:
    parsed, _ = normalize_ip(name)
    if parsed is None:
        return None, f"{_name_error(name)}; must be a valid hostname"
    if parsed["type"] != "name":
        return None, f"{_name_error(name)}; no ip addresses allowed"
    if parsed["port"] is not None:
        return None, f"{_name_error(name)}; no port allowed"
    return True, None


def _validate_target(target: str) -> tuple[bool | None, str | None]:
    parsed, _ = normalize_ip(target)
    if parsed is None:
        return None, f"Invalid target ('{target}'); not a valid hostname or ip address"
    return True, None


def normalize_target(target: str) -> str:
    """``host:port`` with the default port 8000; IPv4 without leading zeros, IPv6 expanded in brackets."""
    parsed, _ = normalize_ip(target)
    return target if parsed is None else format_host(parsed, DEFAULT_TARGET_PORT)


def _algorithm_shorthand(value: Any) -> dict[str, Any]:
    if value in ("least-connections", "latency"):
        return {"algorithm": value, "hash_on": None}
    return {"algorithm": value}


def _hash_on_shorthand(value: Any) -> dict[str, Any]:
    if value is None:
        return {"hash_on": "none"}
    if value == "none":
        return {"hash_on": value, "algorithm": "round-robin"}
    return {"hash_on": value, "algorithm": "consistent-hashing"}


def _conditional(if_field: str, value: str, then_field: str, then_match: dict[str, Any]) -> dict[str, Any]:
    return {
        "conditional": {
            "if_field": if_field,
            "if_match": {"match": f"^{value}$"},
            "then_field": then_field,
            "then_match": then_match,
        }
    }


#: allowed hash_fallback values when hash_on is one of these (Kong's lists, in Kong's order)
_FALLBACKS = {
    "consumer": ["none", "ip", "header", "cookie", "path", "query_arg", "uri_capture"],
    "ip": ["none", "consumer", "header", "cookie", "path", "query_arg", "uri_capture"],
    "path": ["none", "consumer", "header", "cookie", "query_arg", "ip", "uri_capture"],
}
_REQUIRED = {"required": True}


class _UpstreamSchema(Schema):
    """The upstream schema, with the ``circuit_breaker`` extension left out of the entity
    while it is unset, so that an upstream reads exactly as Kong's (no extra null key)."""

    def validate(
        self, data: dict[str, Any], *, partial: bool = False, auto: bool = True
    ) -> tuple[dict, dict]:  # type: ignore[type-arg]
        normalized, errors = super().validate(data, partial=partial, auto=auto)
        unset = isinstance(normalized, dict) and normalized.get(_EXTENSION, 0) is None
        if unset and (not partial or _EXTENSION not in data):  # an update may set it back to null
            del normalized[_EXTENSION]
        return normalized, errors

    def defaults(self) -> dict[str, Any]:
        document = super().defaults()
        document.pop(_EXTENSION, None)
        return document


_EXTENSION = "circuit_breaker"


def _build_upstreams() -> Any:
    from host.config.entities import EntityType

    checks = [
        _conditional("hash_on", "header", "hash_on_header", _REQUIRED),
        _conditional("hash_fallback", "header", "hash_fallback_header", _REQUIRED),
        _conditional("hash_on", "cookie", "hash_on_cookie", _REQUIRED),
        _conditional("hash_fallback", "cookie", "hash_on_cookie", _REQUIRED),
        _conditional("hash_on", "none", "hash_fallback", {"one_of": ["none"]}),
        _conditional("hash_on", "cookie", "hash_fallback", {"one_of": ["none"]}),
        _conditional("hash_on", "consumer", "hash_fallback", {"one_of": _FALLBACKS["consumer"]}),
        _conditional("hash_on", "ip", "hash_fallback", {"one_of": _FALLBACKS["ip"]}),
        _conditional("hash_on", "path", "hash_fallback", {"one_of": _FALLBACKS["path"]}),
        {"distinct": ["hash_on_header", "hash_fallback_header"]},
        _conditional("hash_on", "query_arg", "hash_on_query_arg", _REQUIRED),
        _conditional("hash_fallback", "query_arg", "hash_fallback_query_arg", _REQUIRED),
        {"distinct": ["hash_on_query_arg", "hash_fallback_query_arg"]},
        _conditional("hash_on", "uri_capture", "hash_on_uri_capture", _REQUIRED),
        _conditional("hash_fallback", "uri_capture", "hash_fallback_uri_capture", _REQUIRED),
        {"distinct": ["hash_on_uri_capture", "hash_fallback_uri_capture"]},
    ]
    definition = {
        "fields": [
            {"id": typedefs.uuid},
            {"created_at": typedefs.auto_timestamp_s},
            {
                "name": {
                    "type": "string",
                    "required": True,
                    "unique": True,
                    "custom_validator": _validate_upstream_name,
                    "description": "A host name; services reach the upstream with host = name.",
                }
            },
            {"updated_at": typedefs.auto_timestamp_s},
            {
                "algorithm": {
                    "type": "string",
                    "default": "round-robin",
                    "one_of": ["consistent-hashing", "least-connections", "round-robin", "latency"],
                }
            },
            {"hash_on": _HASH_ON},
            {"hash_fallback": _HASH_ON},
            {"hash_on_header": typedefs.header_name},
            {"hash_fallback_header": typedefs.header_name},
            {"hash_on_cookie": typedefs.cookie_name},
            {"hash_on_cookie_path": typedefs.path(default="/")},
            {"hash_on_query_arg": _PARAM},
            {"hash_fallback_query_arg": _PARAM},
            {"hash_on_uri_capture": _PARAM},
            {"hash_fallback_uri_capture": _PARAM},
            {"slots": {"type": "integer", "default": 10000, "between": [10, 2**16]}},
            {"healthchecks": _HEALTHCHECKS},
            {"tags": typedefs.tags},
            {"host_header": typedefs.host_with_optional_port},
            {"client_certificate": {"type": "foreign", "reference": "certificates"}},
            {"use_srv_name": {"type": "boolean", "default": False}},
            {"circuit_breaker": _CIRCUIT_BREAKER},
        ],
        "entity_checks": checks,
        "shorthand_fields": [
            {"algorithm": {"type": "string", "func": _algorithm_shorthand}},
            {"hash_on": {"type": "string", "func": _hash_on_shorthand}},
        ],
    }
    schema = _UpstreamSchema(definition, name="upstreams", entity=True)
    return EntityType(
        name="upstreams",
        schema=schema,
        foreign=schema.foreign_fields(),
        endpoint_key="name",
        label=("name",),
    )


def _build_targets() -> Any:
    from host.config.entities import _entity

    definition = {
        "fields": [
            {"id": typedefs.uuid},
            {"created_at": typedefs.auto_timestamp_ms},
            {"updated_at": typedefs.auto_timestamp_ms},
            {
                "upstream": {
                    "type": "foreign",
                    "reference": "upstreams",
                    "required": True,
                    "on_delete": "cascade",
                }
            },
            {"target": {"type": "string", "required": True, "custom_validator": _validate_target}},
            {"weight": {"type": "integer", "default": 100, "between": [0, 65535]}},
            {"tags": typedefs.tags},
        ]
    }
    return _entity("targets", definition, cache_key=("upstream", "target"), label=("target",))


UPSTREAMS = _build_upstreams()
TARGETS = _build_targets()
