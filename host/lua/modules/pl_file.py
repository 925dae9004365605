"""Python half of ``pl.file``: reading a file for a trusted plugin.

Kong plugins read keys and certificates the operator put on disk
(``pl.file.read(conf.private_key_location)``).  Only trusted plugins can require
``pl.file``: the sandbox's module list does not include it.  Reads are blocking, as
in OpenResty, and meant for small files read once (through ``kong.cache``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

#: refuse files larger than this (a key or certificate is a few KiB)
MAX_BYTES = 64 * 1024 * 1024


def read(path: Any) -> tuple[bytes | None, bytes | None]:
    """The file's bytes, or ``None`` and Penlight's error text."""
    if not isinstance(path, bytes):
        return None, b"filename must be a string"
    name = path.decode("utf-8", "surrogateescape")
    try:
        with open(name, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, f"{name}: {exc.strerror or exc}".encode()
    if len(data) > MAX_BYTES:
        return None, f"{name}: larger than {MAX_BYTES} bytes".encode()
    return data, None


def backing(host: LuaHost) -> dict[str, Any]:
    return {"read": read}
