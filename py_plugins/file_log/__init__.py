"""file-log: append each request's log entry, one JSON line, to a file.

Kong's file-log (``kong/plugins/file-log``): the entry (``kong.log.serialize()`` after
``custom_fields_by_lua``) is written with one ``write`` to a file opened with
``O_WRONLY|O_CREAT|O_APPEND`` and mode 0644, so lines of concurrent requests (and of
several worker processes) never interleave.  The descriptor is kept per path and
process; with ``reopen`` the file is closed and opened again for each entry, so a
rotated file (renamed away by logrotate) is recreated at once.  As in Kong the write
is synchronous: a local file takes microseconds.
"""

from __future__ import annotations

import os
from typing import Any

from host.schema import typedefs
from host.version import KONG_COMPAT_VERSION
from py_plugins._logkit import custom_fields_by_lua, log_entry

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin"]

NAME = "file-log"
PRIORITY = 9
VERSION = KONG_COMPAT_VERSION

SCHEMA: dict[str, Any] = {
    "fields": [
        {"protocols": typedefs.protocols},
        {
            "config": {
                "type": "record",
                "fields": [
                    {
                        "path": {
                            "type": "string",
                            "required": True,
                            "match": r"^[^%s*&%%\`][^*&%%\`]*[^%s*&%%\`]$",
                            "err": "not a valid filename",
                            "description": "The file the entries are appended to (created if missing).",
                        }
                    },
                    {
                        "reopen": {
                            "type": "boolean",
                            "required": True,
                            "default": False,
                            "description": "Close and reopen the file for every entry (log rotation).",
                        }
                    },
                    {"custom_fields_by_lua": custom_fields_by_lua()},
                ],
            }
        },
    ]
}

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND
_MODE = 0o644
#: path -> open descriptor (per process)
_FILES: dict[str, int] = {}


class Plugin:
    """``log``: one line per request."""

    def log(self, kong: Any, conf: dict[str, Any]) -> None:
        line = log_entry(kong, conf, NAME) + b"\n"
        path = conf["path"]
        fd = _FILES.get(path)
        if fd is not None and conf["reopen"]:
            os.close(fd)
            del _FILES[path]
            fd = None
        if fd is None:
            try:
                fd = _FILES[path] = os.open(path, _FLAGS, _MODE)
            except OSError as exc:
                kong.log.err("failed to open the file: ", exc.strerror or str(exc))
                return
        try:
            os.write(fd, line)
        except OSError as exc:
            kong.log.err("failed to write to the file: ", exc.strerror or str(exc))
            _FILES.pop(path, None)
            os.close(fd)
