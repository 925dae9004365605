"""Test plugin: authenticates the credential named in X-Credential (and the consumer named
in X-Consumer when given), a stand-in for an auth plugin that sets a credential."""

PRIORITY = 1250
VERSION = "1.0.0"
SCHEMA = {"fields": [{"consumer": {"type": "foreign", "reference": "consumers", "eq": None}}]}


def access(kong, conf):
    credential = kong.request.get_header("X-Credential")
    username = kong.request.get_header("X-Consumer")
    consumer = kong.client.load_consumer(username, True) if username else None
    if credential or consumer:
        kong.client.authenticate(consumer, {"id": credential} if credential else None)
