"""maintenance: answer 503 to every request, before routing, while the plugin is enabled."""

from host.schema import typedefs

PRIORITY = 1000000
VERSION = "1.0.0"
SCHEMA = {
    "fields": [
        # rewrite runs for global configs only: refuse a route, service or consumer
        {"route": typedefs.no_route},
        {"service": typedefs.no_service},
        {"consumer": typedefs.no_consumer},
        {
            "config": {
                "type": "record",
                "fields": [
                    {
                        "message": {
                            "type": "string",
                            "default": "Down for maintenance",
                            "required": True,
                            "description": "The message of the 503 response.",
                        }
                    },
                    {"retry_after": {"type": "integer", "default": 300, "gt": 0, "description": "Seconds."}},
                    {
                        "allow_paths": {
                            "type": "array",
                            "elements": typedefs.path,
                            "default": [],
                            "description": "Path prefixes still served, e.g. /health.",
                        }
                    },
                ],
            }
        },
    ]
}


def rewrite(kong, conf):
    path = kong.request.get_path()
    if any(path.startswith(prefix) for prefix in conf["allow_paths"]):
        return
    kong.response.exit(503, {"message": conf["message"]}, {"Retry-After": str(conf["retry_after"])})
