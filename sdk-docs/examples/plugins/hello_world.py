"""hello-world: add a greeting header to every response."""

PRIORITY = 800
VERSION = "1.0.0"
SCHEMA = [
    {"greeting": {"type": "string", "default": "hello", "description": "The header's value."}},
    {"header": {"type": "string", "default": "X-Hello", "description": "The header's name."}},
]


def access(kong, conf):
    kong.response.set_header(conf["header"], conf["greeting"])
