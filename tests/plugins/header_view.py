"""Test plugin: answers with the request headers it sees through kong.request (after a
plugin that edited them for the upstream) and the enabled_headers maps, as JSON."""

PRIORITY = 1100
VERSION = "1.0.0"


def access(kong, conf):
    headers = kong.request.get_headers()
    enabled = kong.configuration.enabled_headers
    return kong.response.exit(
        200,
        {
            "get_header": {
                "consumer": kong.request.get_header("X-Consumer-ID"),
                "key": kong.request.get_header("X-Api-Key"),
            },
            "get_headers": {"consumer": headers.get("x-consumer-id"), "tag": headers.get("X_Tag")},
            "enabled_via": enabled["Via"],
        },
    )
