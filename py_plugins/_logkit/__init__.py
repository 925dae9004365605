"""Shared parts of the bundled log plugins (a private package: not loaded as a plugin).

* :func:`log_entry`: Kong's log entry of the request (``kong.log.serialize()`` after
  the ``custom_fields_by_lua`` fields, :mod:`.lua_fields`), as JSON bytes;
* :mod:`.queue`: the bounded batching queue with retries (http-log, opentelemetry);
* :mod:`.senders`: TCP and UDP senders that never make a request wait;
* :func:`custom_fields_by_lua`: the schema field (Kong's ``typedefs.lua_code`` with
  its compile check).
"""

from __future__ import annotations

from typing import Any

from host.context import current_context
from host.schema import typedefs
from pdk._serialize import serialize, to_json
from py_plugins._logkit.lua_fields import apply_custom_fields, validate_lua_code
from py_plugins._logkit.queue import dropped_entries, enqueue, queued_entries

__all__ = [
    "log_entry",
    "serialized",
    "custom_fields_by_lua",
    "enqueue",
    "dropped_entries",
    "queued_entries",
]

_CUSTOM_FIELDS_DESCRIPTION = (
    "A map of log field names to Lua code strings; each code's return value sets or "
    "replaces the field (dotted names set nested fields). Run in the Lua sandbox as "
    "`untrusted_lua` says."
)


def custom_fields_by_lua(description: str = _CUSTOM_FIELDS_DESCRIPTION) -> Any:
    """``custom_fields_by_lua``: Kong's ``typedefs.lua_code`` whose values must compile."""
    return typedefs.lua_code(
        description=description,
        values={"type": "string", "len_min": 1, "custom_validator": validate_lua_code},
    )


def serialized(kong: Any, conf: dict[str, Any], plugin: str) -> dict[str, Any]:
    """``kong.log.serialize()`` after this configuration's custom fields, to read only.

    Top-level ``None`` values are left out: Kong builds the table with Lua ``nil``
    for them (no consumer, no route ...), so its JSON has no such key.  The table shares
    the request's route, service, tries and consumer fields (no copies: it is encoded at
    once); edits never reach them (:func:`pdk._serialize.apply_edits` copies on write).
    """
    apply_custom_fields(kong, conf, plugin)
    return serialize(current_context(), shared=True)


def log_entry(kong: Any, conf: dict[str, Any], plugin: str) -> bytes:
    """The request's log entry as compact JSON bytes (what Kong's ``cjson.encode`` gives;
    :func:`pdk._serialize.to_json`)."""
    apply_custom_fields(kong, conf, plugin)
    return to_json(current_context())
