"""Test plugin: shows the consumer Python sees; with ``X-Reauth`` it authenticates another."""

import json

PRIORITY = 1000
VERSION = "1.0.0"
SCHEMA: list = []


class Plugin:
    def access(self, kong, conf):
        if kong.request.get_header("X-Reauth"):
            kong.client.authenticate({"id": "00000000-0000-4000-8000-0000000000aa", "username": "py-user"}, None)

    def header_filter(self, kong, conf):
        consumer = kong.client.get_consumer()
        credential = kong.client.get_credential()
        kong.response.set_header("X-Py-Consumer", json.dumps(consumer, sort_keys=True))
        kong.response.set_header("X-Py-Credential", (credential or {}).get("key", "none"))
