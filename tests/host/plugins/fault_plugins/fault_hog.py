"""Test plugin: holds a large buffer for the request, then asks for an impossible one.

Python cannot cap one plugin's memory inside the worker; what the gateway contains is
the ``MemoryError`` (counted with reason ``memory``).
"""

PRIORITY = 805
VERSION = "1.0.0"
SCHEMA = [{"mb": {"type": "integer", "default": 16}}]


def access(kong, conf):
    kong.ctx.plugin["buffer"] = bytearray(conf["mb"] << 20)  # zeroed lazily by the OS
    kong.ctx.plugin["more"] = bytearray(1 << 50)  # a petabyte: MemoryError
