"""static-key-auth: identify the consumer from an API key listed in the plugin's config."""

from host.schema import typedefs

PRIORITY = 1250  # before every plugin that may be configured per consumer
VERSION = "1.0.0"
SCHEMA = {
    "fields": [
        {"consumer": typedefs.no_consumer},  # an auth plugin cannot itself be consumer-scoped
        {
            "config": {
                "type": "record",
                "fields": [
                    {
                        "header": typedefs.header_name(
                            default="apikey", required=True, description="Header holding the key."
                        )
                    },
                    {
                        "keys": {
                            "type": "map",
                            "keys": {"type": "string", "len_min": 8},
                            "values": {"type": "string"},
                            "required": True,
                            "description": "API key -> consumer username.",
                        }
                    },
                ],
            }
        },
    ]
}


class Plugin:
    def access(self, kong, conf):
        key = kong.request.get_header(conf["header"])
        if key is None:
            kong.response.exit(401, {"message": "No API key found in request"})
        username = conf["keys"].get(key)
        consumer = kong.client.load_consumer(username, True) if username else None
        if consumer is None:
            kong.response.exit(401, {"message": "Invalid authentication credentials"})
        kong.client.authenticate(consumer, None)
        kong.service.request.clear_header(conf["header"])  # the upstream never sees the key
        kong.ctx.shared["authenticated_username"] = consumer["username"]
