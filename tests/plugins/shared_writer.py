"""Test plugin: hands a value to later plugins through kong.ctx.shared."""

PRIORITY = 2000
VERSION = "1.0.0"


def access(kong, conf):
    kong.ctx.shared["from_writer"] = kong.request.get_path()
    kong.ctx.shared.setdefault("order", []).append("shared-writer")


def header_filter(kong, conf):
    kong.response.set_header("X-Shared-Seen", kong.ctx.shared.get("from_reader", "none"))
