"""Test plugin: authenticates the consumer named in X-Consumer (a stand-in for key-auth)."""

PRIORITY = 1250
VERSION = "1.0.0"
SCHEMA = {
    "fields": [
        {"consumer": {"type": "foreign", "reference": "consumers", "eq": None}},
        {"config": {"type": "record", "fields": [{"required": {"type": "boolean", "default": False}}]}},
    ]
}


def access(kong, conf):
    username = kong.request.get_header("X-Consumer")
    if not username:
        if conf["required"]:
            kong.response.exit(401, {"message": "No consumer"}, {"WWW-Authenticate": "Consumer"})
        return
    consumer = kong.client.load_consumer(username, True)
    if consumer is None:
        kong.response.exit(401, {"message": "Unknown consumer"})
    kong.client.authenticate(consumer, None)
    kong.ctx.shared.setdefault("order", []).append("auth-header")
