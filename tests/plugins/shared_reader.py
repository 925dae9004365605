"""Test plugin: reads what shared-writer left in kong.ctx.shared and forwards it upstream."""

PRIORITY = 1000
VERSION = "1.0.0"


def access(kong, conf):
    value = kong.ctx.shared.get("from_writer", "missing")
    kong.service.request.set_header("X-From-Writer", value)
    kong.ctx.shared["from_reader"] = "yes"
    kong.ctx.shared.setdefault("order", []).append("shared-reader")
