"""Test plugin (Python): an auth plugin that sets kong.ctx.shared.authenticated_groups
from the X-Groups request header (comma-separated), and with X-Credential also
authenticates a credential without a consumer, as an external identity provider would."""

PRIORITY = 1450
VERSION = "1.0.0"
SCHEMA = {
    "fields": [
        {"consumer": {"type": "foreign", "reference": "consumers", "eq": None}},
        {"config": {"type": "record", "fields": []}},
    ]
}


def access(kong, conf):
    groups = kong.request.get_header("X-Groups")
    if groups is not None:
        kong.ctx.shared["authenticated_groups"] = [g.strip() for g in groups.split(",") if g.strip()]
    credential = kong.request.get_header("X-Credential")
    if credential is not None:
        kong.client.authenticate(None, {"id": credential})
