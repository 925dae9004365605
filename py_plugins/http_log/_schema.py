"""http-log's configuration: Kong 3.x's fields, defaults and messages."""

from __future__ import annotations

from typing import Any

from yarl import URL

from host.schema import typedefs
from py_plugins._logkit import custom_fields_by_lua

__all__ = ["SCHEMA"]


def _deprecated(name: str, kind: str, description: str, message: str, old_default: Any) -> dict[str, Any]:
    return {
        name: {
            "type": kind,
            "description": description,
            "deprecation": {"message": message, "removal_in_version": "4.0", "old_default": old_default},
        }
    }


def _no_userinfo_with_authorization(config: dict[str, Any]) -> Any:
    """Kong: user info in the endpoint and an Authorization header cannot both be set."""
    headers = config.get("headers")
    endpoint = config.get("http_endpoint")
    if not headers or not isinstance(endpoint, str):
        return True
    try:
        userinfo = URL(endpoint).raw_user is not None
    except ValueError:
        return True
    if userinfo and any(name.lower() == "authorization" for name in headers):
        return (
            False,
            "specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed",
        )
    return True


_HEADER_KEYS = typedefs.header_name(
    match_none=[
        {"pattern": "^[Hh][Oo][Ss][Tt]$", "err": "cannot contain 'Host' header"},
        {
            "pattern": "^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Ll][Ee][Nn][Gg][Tt][Hh]$",
            "err": "cannot contain 'Content-Length' header",
        },
        {
            "pattern": "^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Tt][Yy][Pp][Ee]$",
            "err": "cannot contain 'Content-Type' header",
        },
    ]
)

SCHEMA: dict[str, Any] = {
    "fields": [
        {"protocols": typedefs.protocols},
        {
            "config": {
                "type": "record",
                "fields": [
                    {
                        "http_endpoint": typedefs.url(
                            required=True,
                            encrypted=True,
                            referenceable=True,
                            description="The HTTP URL the log entries are sent to (user info becomes Basic auth).",
                        )
                    },
                    {
                        "method": {
                            "type": "string",
                            "default": "POST",
                            "one_of": ["POST", "PUT", "PATCH"],
                            "description": "The method of the requests to the log server.",
                        }
                    },
                    {
                        "content_type": {
                            "type": "string",
                            "default": "application/json",
                            "one_of": ["application/json", "application/json; charset=utf-8"],
                            "description": "The Content-Type of the requests to the log server.",
                        }
                    },
                    {
                        "timeout": {
                            "type": "number",
                            "default": 10000,
                            "description": "Milliseconds a request to the log server may take.",
                        }
                    },
                    {
                        "keepalive": {
                            "type": "number",
                            "default": 60000,
                            "description": "Milliseconds an idle connection to the log server is kept open.",
                        }
                    },
                    _deprecated(
                        "retry_count",
                        "integer",
                        "Accepted and ignored; use `queue.max_retry_time`.",
                        "http-log: config.retry_count no longer works, please use config.queue.max_retry_time instead",
                        10,
                    ),
                    _deprecated(
                        "queue_size",
                        "integer",
                        "Accepted and ignored; use `queue.max_batch_size`.",
                        "http-log: config.queue_size is deprecated, please use config.queue.max_batch_size instead",
                        1,
                    ),
                    _deprecated(
                        "flush_timeout",
                        "number",
                        "Accepted and ignored; use `queue.max_coalescing_delay`.",
                        "http-log: config.flush_timeout is deprecated, please use "
                        "config.queue.max_coalescing_delay instead",
                        2,
                    ),
                    {
                        "headers": {
                            "type": "map",
                            "keys": _HEADER_KEYS,
                            "values": {"type": "string", "referenceable": True},
                            "description": "Headers added to the requests to the log server (one value each).",
                        }
                    },
                    {"queue": typedefs.queue},
                    {"custom_fields_by_lua": custom_fields_by_lua()},
                ],
                "custom_validator": _no_userinfo_with_authorization,
            }
        },
    ]
}
