"""opentelemetry's configuration: Kong 3.x's fields, defaults and messages (traces only)."""

from __future__ import annotations

from typing import Any

from host.schema import typedefs

__all__ = ["SCHEMA", "HEADER_TYPES"]

HEADER_TYPES = [
    "preserve",
    "ignore",
    "b3",
    "b3-single",
    "w3c",
    "jaeger",
    "ot",
    "aws",
    "gcp",
    "datadog",
    "instana",
]
_FORMATS = ["w3c", "b3", "b3-single", "jaeger", "ot", "datadog", "aws", "gcp", "instana"]


def _resource_attributes(attributes: Any) -> Any:
    for value in attributes.values():
        if not isinstance(value, str | int | float | bool):
            return False, f"invalid type of value: {type(value).__name__}"
        if isinstance(value, str) and not value:
            return False, "required field missing"
    return True


def _timeout(default: int, description: str) -> Any:
    return typedefs.timeout(default=default, description=description)


def _deprecated(name: str, description: str, message: str, old_default: Any) -> dict[str, Any]:
    return {
        name: {
            "type": "integer",
            "description": description,
            "deprecation": {"message": message, "removal_in_version": "4.0", "old_default": old_default},
        }
    }


_PROPAGATION = {
    "type": "record",
    "default": {"default_format": "w3c"},
    "description": "Which trace context headers are read, written and removed.",
    "fields": [
        {
            "extract": {
                "type": "array",
                "elements": {"type": "string", "one_of": _FORMATS},
                "description": "Formats read from the request, in order (default: all).",
            }
        },
        {
            "clear": {
                "type": "array",
                "elements": {"type": "string"},
                "description": "Headers removed from the upstream request.",
            }
        },
        {
            "inject": {
                "type": "array",
                "elements": {"type": "string", "one_of": ["preserve", *_FORMATS]},
                "description": "Formats written to the upstream request (`preserve`: the incoming one).",
            }
        },
        {
            "default_format": {
                "type": "string",
                "required": True,
                "one_of": _FORMATS,
                "description": "The format written when `preserve` finds no incoming context.",
            }
        },
    ],
}

SCHEMA: dict[str, Any] = {
    "fields": [
        {"protocols": typedefs.protocols_http},
        {
            "config": {
                "type": "record",
                "fields": [
                    {
                        "traces_endpoint": typedefs.url(
                            referenceable=True, description="The OTLP/HTTP traces endpoint."
                        )
                    },
                    {
                        "logs_endpoint": typedefs.url(
                            referenceable=True,
                            description="The OTLP/HTTP logs endpoint: the log lines of each request "
                            "(and of the worker) are exported there.",
                        )
                    },
                    {
                        "headers": {
                            "type": "map",
                            "keys": typedefs.header_name,
                            "values": {"type": "string", "referenceable": True},
                            "description": "Headers added to the requests to the OTLP endpoint (e.g. a token).",
                        }
                    },
                    {
                        "resource_attributes": {
                            "type": "map",
                            "keys": {"type": "string", "required": True},
                            "values": {"type": "string", "required": True},
                            "custom_validator": _resource_attributes,
                            "description": "Attributes of the resource; `service.name` (default `kong`), "
                            "`service.version` and `service.instance.id` are set and may be overridden.",
                        }
                    },
                    {"queue": typedefs.queue(default={"max_batch_size": 200})},
                    _deprecated(
                        "batch_span_count",
                        "Accepted and ignored; use `queue.max_batch_size`.",
                        "opentelemetry: config.batch_span_count is deprecated, please use "
                        "config.queue.max_batch_size instead",
                        200,
                    ),
                    _deprecated(
                        "batch_flush_delay",
                        "Accepted and ignored; use `queue.max_coalescing_delay`.",
                        "opentelemetry: config.batch_flush_delay is deprecated, please use "
                        "config.queue.max_coalescing_delay instead",
                        3,
                    ),
                    {"connect_timeout": _timeout(1000, "Milliseconds to connect to the endpoint.")},
                    {"send_timeout": _timeout(5000, "Milliseconds to send a batch.")},
                    {"read_timeout": _timeout(5000, "Milliseconds to read the answer.")},
                    {
                        "http_response_header_for_traceid": {
                            "type": "string",
                            "description": "A response header that carries the trace id.",
                        }
                    },
                    {
                        "header_type": {
                            "type": "string",
                            "required": False,
                            "default": "preserve",
                            "one_of": HEADER_TYPES,
                            "deprecation": {
                                "message": "opentelemetry: config.header_type is deprecated, please use "
                                "config.propagation options instead",
                                "removal_in_version": "4.0",
                                "old_default": "preserve",
                            },
                            "description": "The trace context format written upstream (`preserve`: the "
                            "incoming one; `ignore`: incoming headers are not read).",
                        }
                    },
                    {
                        "sampling_rate": {
                            "type": "number",
                            "between": [0, 1],
                            "required": False,
                            "description": "The share of requests traced (the `tracing_sampling_rate` "
                            "setting when unset); a sampled flag in the incoming context wins.",
                        }
                    },
                    {"propagation": _PROPAGATION},
                ],
                "entity_checks": [{"at_least_one_of": ["traces_endpoint", "logs_endpoint"]}],
                "shorthand_fields": [
                    {
                        "endpoint": typedefs.url(
                            referenceable=True,
                            deprecation={
                                "message": "OpenTelemetry: config.endpoint is deprecated, please use "
                                "config.traces_endpoint instead",
                                "removal_in_version": "4.0",
                            },
                            func=lambda value: {"traces_endpoint": value},
                        )
                    }
                ],
            }
        },
    ]
}
