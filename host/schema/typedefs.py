"""Shared field types, named as in Kong's ``kong.db.schema.typedefs``.

Each typedef is a field definition that can be used as is or called with
attribute overrides::

    {"port": typedefs.port({"default": 80})}
    {"header_name": typedefs.header_name(required=True)}

Asking for a typedef that does not exist raises ``AttributeError``.
"""

from __future__ import annotations

from typing import Any

from host.schema import _net, _pem, _text

__all__ = ["Typedef", "HTTP_PROTOCOLS", "PROTOCOLS", "scope_flags"]

#: every protocol Kong knows, sorted (``constants.PROTOCOLS``)
PROTOCOLS: tuple[str, ...] = ("grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp")
#: the protocols of the http subsystem, sorted: the default ``protocols`` of plugins
HTTP_PROTOCOLS: tuple[str, ...] = ("grpc", "grpcs", "http", "https")
#: Kong's ``DAO_MAX_TTL``
MAX_TTL = 100_000_000


class Typedef(dict):
    """A named, reusable field definition; calling it returns a copy with attributes overridden."""

    def __init__(self, name: str, definition: dict[str, Any]) -> None:
        super().__init__(definition)
        self.typedef_name = name

    def __call__(self, overrides: dict[str, Any] | None = None, /, **attributes: Any) -> Typedef:
        merged = dict(self)
        merged.update(overrides or {})
        merged.update(attributes)
        return Typedef(self.typedef_name, merged)

    def __repr__(self) -> str:
        return f"typedefs.{self.typedef_name}"


_TYPEDEFS: dict[str, Typedef] = {}


def _define(name: str, definition: dict[str, Any]) -> Typedef:
    typedef = Typedef(name, definition)
    _TYPEDEFS[name] = typedef
    return typedef


def _string(name: str, validator: Any, description: str, **extra: Any) -> Typedef:
    return _define(
        name, {"type": "string", "custom_validator": validator, "description": description, **extra}
    )


http_method = _define(
    "http_method",
    {"type": "string", "match": "^%u+$", "description": "An HTTP method in uppercase letters, such as GET."},
)
protocol = _define(
    "protocol", {"type": "string", "one_of": list(PROTOCOLS), "description": "A protocol name."}
)
host = _string("host", _net.validate_host, "A host name or IP address, without a port.")
host_with_optional_port = _string(
    "host_with_optional_port",
    _net.validate_host_with_optional_port,
    "A host name or IP address, with an optional port.",
)
wildcard_host = _string(
    "wildcard_host",
    _net.validate_wildcard_host,
    "A host name that may start or end with a '*' wildcard label.",
)
ip = _string("ip", _net.validate_ip, "An IPv4 or IPv6 address.")
ipv4 = _string("ipv4", _net.validate_ipv4, "An IPv4 address.")
ipv6 = _string("ipv6", _net.validate_ipv6, "An IPv6 address.")
ip_or_cidr = _string("ip_or_cidr", _net.validate_ip_or_cidr, "An IP address or a CIDR range.")
cidr_v4 = _string("cidr_v4", _net.validate_cidr_v4, "An IPv4 CIDR range, such as 10.0.0.0/8.")
cidr = _define("cidr", dict(cidr_v4))  # Kong's deprecated alias of cidr_v4
cidr_v6 = _string("cidr_v6", _net.validate_cidr_v6, "An IPv6 CIDR range, such as fd00::/8.")
port = _define(
    "port", {"type": "integer", "between": [0, 65535], "description": "A port number, 0 to 65535."}
)
path = _define(
    "path",
    {
        "type": "string",
        "starts_with": "/",
        "match_none": [{"pattern": "//", "err": "must not have empty segments"}],
        "custom_validator": _text.validate_path,
        "description": "A URL path starting with '/', without empty segments.",
    },
)
url = _string("url", _text.validate_url, "An absolute URL, such as https://example.com/path.")
cookie_name = _string("cookie_name", _text.validate_cookie_name, "A cookie name (an HTTP token).")
header_name = _string("header_name", _text.validate_header_name, "An HTTP header name.")
timeout = _define(
    "timeout", {"type": "integer", "between": [0, 2**31 - 2], "description": "A timeout in milliseconds."}
)
uuid = _define(
    "uuid", {"type": "string", "uuid": True, "auto": True, "description": "A UUID, generated when missing."}
)
auto_timestamp_s = _define(
    "auto_timestamp_s",
    {"type": "integer", "timestamp": True, "auto": True, "description": "A Unix time in seconds."},
)
auto_timestamp_ms = _define(
    "auto_timestamp_ms",
    {
        "type": "number",
        "timestamp": True,
        "auto": True,
        "description": "A Unix time in seconds, millisecond precision.",
    },
)
no_route = _define(
    "no_route",
    {
        "type": "foreign",
        "reference": "routes",
        "eq": None,
        "description": "Must not be set: no route scoping.",
    },
)
no_service = _define(
    "no_service",
    {
        "type": "foreign",
        "reference": "services",
        "eq": None,
        "description": "Must not be set: no service scoping.",
    },
)
no_consumer = _define(
    "no_consumer",
    {
        "type": "foreign",
        "reference": "consumers",
        "eq": None,
        "description": "Must not be set: no consumer scoping.",
    },
)
name = _string(
    "name", _text.validate_name, "A unique name: letters, digits, '.', '-', '_' and '~'.", unique=True
)
utf8_name = _string(
    "utf8_name",
    _text.validate_utf8_name,
    "A unique name: letters, digits, '.', '-', '_', '~' or UTF-8.",
    unique=True,
)
sni = _string("sni", _net.validate_sni, "A server name (SNI): a host name, no IP, no port.")
certificate = _string("certificate", _pem.validate_certificate, "A PEM-encoded X.509 certificate.")
key = _string("key", _pem.validate_key, "A PEM-encoded private key.")
tag = _string(
    "tag", _text.validate_tag, "A tag: printable ASCII except ',' and '/', or UTF-8.", required=True
)
tags = _define("tags", {"type": "set", "elements": tag, "description": "A set of tags."})
protocols = _define(
    "protocols",
    {
        "type": "set",
        "required": True,
        "default": list(HTTP_PROTOCOLS),
        "elements": protocol,
        "description": "The protocols this entity applies to.",
    },
)
protocols_http = _define(
    "protocols_http",
    {
        "type": "set",
        "required": True,
        "default": list(HTTP_PROTOCOLS),
        "elements": {"type": "string", "one_of": list(HTTP_PROTOCOLS)},
        "description": "The http-subsystem protocols this plugin applies to.",
    },
)
_ADDRESS = {
    "type": "record",
    "fields": [{"ip": ip_or_cidr}, {"port": port}],
    "entity_checks": [{"at_least_one_of": ["ip", "port"]}],
}
sources = _define(
    "sources", {"type": "set", "elements": _ADDRESS, "description": "Source addresses (ip and/or port)."}
)
no_sources = _define("no_sources", sources(eq=None, description="Must not be set."))
destinations = _define(
    "destinations",
    {"type": "set", "elements": _ADDRESS, "description": "Destination addresses (ip and/or port)."},
)
no_destinations = _define("no_destinations", destinations(eq=None, description="Must not be set."))
methods = _define(
    "methods", {"type": "set", "elements": http_method, "description": "A set of HTTP methods."}
)
no_methods = _define("no_methods", methods(eq=None, description="Must not be set."))
hosts = _define(
    "hosts",
    {
        "type": "array",
        "elements": {
            "type": "string",
            "match_all": [
                {"pattern": "^[^*]*%*?[^*]*$", "err": "invalid wildcard: must have at most one wildcard"}
            ],
            "match_any": {
                "patterns": ["^%*%.", "%.%*$", "^[^*]*$"],
                "err": "invalid wildcard: must be placed at leftmost or rightmost label",
            },
            "custom_validator": lambda value: _net.validate_host_with_optional_port(
                value.replace("*", "abc")
            ),
        },
        "description": "Host names, each with an optional port and at most one leading or trailing '*' label.",
    },
)
no_hosts = _define("no_hosts", hosts(eq=None, description="Must not be set."))
router_path = _define(
    "router_path",
    {
        "type": "string",
        "match_any": {
            "patterns": ["^/", "^~/"],
            "err": "should start with: / (fixed path) or ~/ (regex path)",
        },
        "match_none": [{"pattern": "//", "err": "must not have empty segments"}],
        "custom_validator": _text.validate_router_path,
        "description": "A route path: a prefix starting with '/' or a regex starting with '~/'.",
    },
)
router_paths = _define(
    "router_paths", {"type": "array", "elements": router_path, "description": "Route paths."}
)
no_paths = _define("no_paths", router_paths(eq=None, description="Must not be set."))
headers = _define(
    "headers",
    {
        "type": "map",
        "keys": header_name,
        "values": {"type": "array", "elements": {"type": "string"}},
        "description": "Header names mapped to lists of values.",
    },
)
no_headers = _define("no_headers", headers(eq=None, description="Must not be set."))
semantic_version = _define(
    "semantic_version",
    {
        "type": "string",
        "match_any": {
            "patterns": ["^%d+[%.%d]*$", "^%d+[%.%d]*%-?.*$"],
            "err": "invalid version number: must be in format of X.Y.Z",
        },
        "match_none": [{"pattern": "%.%.", "err": "must not have empty version segments"}],
        "description": "A version number X.Y.Z with an optional -suffix.",
    },
)
lua_code = _define(
    "lua_code",
    {
        "type": "map",
        "keys": {"type": "string", "len_min": 1},
        "values": {"type": "string", "len_min": 1},
        "description": "Lua code snippets by name (checked by the Lua sandbox when loaded).",
    },
)
ttl = _define(
    "ttl", {"type": "number", "between": [0, MAX_TTL], "description": "A time to live, in seconds."}
)
queue = _define(
    "queue",
    {
        "type": "record",
        "fields": [
            {"max_batch_size": {"type": "integer", "default": 1, "between": [1, 1_000_000]}},
            {"max_coalescing_delay": {"type": "number", "default": 1, "between": [0, 3600]}},
            {"max_entries": {"type": "integer", "default": 10000, "between": [1, 1_000_000]}},
            {"max_bytes": {"type": "integer"}},
            {"max_retry_time": {"type": "number", "default": 60}},
            {"initial_retry_delay": {"type": "number", "default": 0.01, "between": [0.001, 1_000_000]}},
            {"max_retry_delay": {"type": "number", "default": 60, "between": [0.001, 1_000_000]}},
            {"concurrency_limit": {"type": "integer", "default": 1, "one_of": [-1, 1]}},
        ],
        "description": "How a plugin queues and batches its deliveries.",
    },
)


def names() -> list[str]:
    """Every typedef name."""
    return sorted(_TYPEDEFS)


def __getattr__(attr: str) -> Any:
    raise AttributeError(f"schema typedef error: definition '{attr}' does not exist")


def __dir__() -> list[str]:
    return sorted({*globals(), *_TYPEDEFS})


def scope_flags(schema: Any) -> tuple[bool, bool, bool]:
    """``(no_consumer, no_route, no_service)`` of a plugin schema (a Schema or a definition).

    A flag is set when the plugin's schema declares that foreign key with
    ``eq = None`` (``typedefs.no_consumer`` and friends).
    """
    fields: dict[str, Any] = {}
    export = getattr(schema, "export_fields", None)
    record = getattr(schema, "record", None)
    if record is not None:
        selected = export if export is not None else list(record.fields)
        fields = {n: record.fields[n].attrs for n in selected if n in record.fields}
    elif isinstance(schema, dict):
        for item in schema.get("fields") or ():
            if isinstance(item, dict):
                fields.update(item)

    def forbidden(field_name: str) -> bool:
        attrs = fields.get(field_name)
        return isinstance(attrs, dict) and "eq" in attrs and attrs["eq"] is None

    return forbidden("consumer"), forbidden("route"), forbidden("service")
