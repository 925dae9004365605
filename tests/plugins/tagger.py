"""Test plugin: tags the response with its config's value (to see which config applied)."""

PRIORITY = 900
VERSION = "1.2.3"
SCHEMA = [{"tag": {"type": "string", "required": True}}]


class Plugin:
    def access(self, kong, conf):
        kong.ctx.shared.setdefault("order", []).append("tagger")
        kong.response.set_header("X-Tag", conf["tag"])
