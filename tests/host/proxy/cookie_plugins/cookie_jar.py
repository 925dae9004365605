"""Test plugin: sets or adds a ``Set-Cookie`` response header in access or header_filter."""

PRIORITY = 5
VERSION = "1.0.0"
SCHEMA = [
    {"mode": {"type": "string", "required": True, "one_of": ["set", "add"]}},
    {"phase": {"type": "string", "required": True, "one_of": ["access", "header_filter"]}},
]


def _cookie(kong, conf):
    if conf["mode"] == "set":
        kong.response.set_header("Set-Cookie", "plugin=1; Path=/")
    else:
        kong.response.add_header("Set-Cookie", "plugin=1; Path=/")


def access(kong, conf):
    if conf["phase"] == "access":
        _cookie(kong, conf)


def header_filter(kong, conf):
    if conf["phase"] == "header_filter":
        _cookie(kong, conf)
