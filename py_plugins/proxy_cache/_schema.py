"""The configuration schema of proxy-cache: Kong 3.x's fields, plus the ``redis`` strategy.

Field names, defaults and checks follow Kong's ``kong/plugins/proxy-cache/schema.lua``.
Our additions: ``strategy: redis`` with its ``redis`` record (the same record Kong's
rate-limiting uses: host, port, timeout, username, password, database, ssl,
ssl_verify, server_name).
"""

from __future__ import annotations

from typing import Any

from host.schema import typedefs

__all__ = ["SCHEMA", "STRATEGIES"]

#: the backing stores: Kong's ``memory`` and our ``redis``
STRATEGIES = ("memory", "redis")

_REDIS: dict[str, Any] = {
    "type": "record",
    "description": "How to connect to Redis when `strategy` is `redis` (a Moongate addition).",
    "fields": [
        {"host": typedefs.host(description="The Redis host name or IP address.")},
        {"port": typedefs.port(default=6379, description="The Redis port.")},
        {"timeout": typedefs.timeout(default=2000, description="Connect, send and read timeout in ms.")},
        {
            "username": {
                "type": "string",
                "referenceable": True,
                "description": "The Redis ACL user name (Redis 6+); without it no ACL authentication is done.",
            }
        },
        {
            "password": {
                "type": "string",
                "encrypted": True,
                "referenceable": True,
                "len_min": 0,
                "description": "The password sent with AUTH; without it no AUTH command is sent.",
            }
        },
        {"database": {"type": "integer", "default": 0, "description": "The Redis database number."}},
        {"ssl": {"type": "boolean", "required": False, "default": False, "description": "Connect over TLS."}},
        {
            "ssl_verify": {
                "type": "boolean",
                "required": False,
                "default": False,
                "description": "Verify the Redis server's TLS certificate.",
            }
        },
        {"server_name": typedefs.sni(required=False, description="The SNI sent to Redis over TLS.")},
    ],
}

_CONFIG_FIELDS: list[dict[str, Any]] = [
    {
        "response_code": {
            "description": "Upstream response status code considered cacheable.",
            "type": "array",
            "default": [200, 301, 404],
            "elements": {"type": "integer", "between": [100, 900]},
            "len_min": 1,
            "required": True,
        }
    },
    {
        "request_method": {
            "description": "Downstream request methods considered cacheable.",
            "type": "array",
            "default": ["GET", "HEAD"],
            "elements": {"type": "string", "one_of": ["HEAD", "GET", "POST", "PATCH", "PUT"]},
            "required": True,
        }
    },
    {
        "content_type": {
            "description": "Upstream response content types considered cacheable (exact match of "
            "type, subtype and parameters; `*` matches any type or subtype).",
            "type": "array",
            "default": ["text/plain", "application/json"],
            "elements": {"type": "string"},
            "required": True,
        }
    },
    {
        "cache_ttl": {
            "description": "TTL, in seconds, of cache entities.",
            "type": "integer",
            "default": 300,
            "gt": 0,
        }
    },
    {
        "strategy": {
            "description": "The backing data store in which to hold cache entities: `memory` "
            "(per worker process) or `redis` (shared; a Moongate addition).",
            "type": "string",
            "one_of": list(STRATEGIES),
            "required": True,
        }
    },
    {
        "cache_control": {
            "description": "When enabled, respect the Cache-Control behaviors defined in RFC7234.",
            "type": "boolean",
            "default": False,
            "required": True,
        }
    },
    {
        "ignore_uri_case": {
            "description": "Lower-case the URI before it goes into the cache key.",
            "type": "boolean",
            "default": False,
            "required": False,
        }
    },
    {
        "storage_ttl": {
            "description": "Number of seconds to keep resources in the storage backend. This value is "
            "independent of `cache_ttl` or resource TTLs defined by Cache-Control behaviors.",
            "type": "integer",
        }
    },
    {
        "memory": {
            "type": "record",
            "description": "Options of the `memory` strategy.",
            "fields": [
                {
                    "dictionary_name": {
                        "description": "The name of the in-memory store holding cache entities; "
                        "configurations naming the same store share it.",
                        "type": "string",
                        "required": True,
                        "default": "kong_db_cache",
                    }
                }
            ],
        }
    },
    {"redis": _REDIS},
    {
        "vary_query_params": {
            "description": "Relevant query parameters considered for the cache key. If undefined, "
            "all params are taken into consideration.",
            "type": "array",
            "elements": {"type": "string"},
        }
    },
    {
        "vary_headers": {
            "description": "Relevant headers considered for the cache key. If undefined, none of the "
            "headers are taken into consideration.",
            "type": "array",
            "elements": {"type": "string"},
        }
    },
    {
        "response_headers": {
            "description": "Caching related diagnostic headers that should be included in cached responses",
            "type": "record",
            "fields": [
                {"age": {"type": "boolean", "default": True, "description": "Send `Age` on hits."}},
                {
                    "X-Cache-Status": {
                        "type": "boolean",
                        "default": True,
                        "description": "Send `X-Cache-Status`.",
                    }
                },
                {"X-Cache-Key": {"type": "boolean", "default": True, "description": "Send `X-Cache-Key`."}},
            ],
        }
    },
]

SCHEMA: dict[str, Any] = {
    "fields": [
        {"protocols": typedefs.protocols},
        {
            "config": {
                "type": "record",
                "fields": _CONFIG_FIELDS,
                "entity_checks": [
                    {
                        "conditional": {
                            "if_field": "strategy",
                            "if_match": {"eq": "redis"},
                            "then_field": "redis.host",
                            "then_match": {"required": True},
                        }
                    }
                ],
            }
        },
    ]
}
