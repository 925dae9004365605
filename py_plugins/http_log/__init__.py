"""http-log: send each request's log entry to an HTTP endpoint, through a batching queue.

Kong's http-log (``kong/plugins/http-log``): the ``log`` handler builds the entry
(``kong.log.serialize()`` after ``custom_fields_by_lua``), encodes it and queues it
(:mod:`py_plugins._logkit.queue`): it never waits, so a slow or dead receiver never
delays nor fails a client request.  The queue's sender posts one JSON object per
request when ``queue.max_batch_size`` is 1, else a JSON array of up to that many,
retries failures (an error, or a status of 300 or more) with exponential backoff,
and drops (counted, logged) what does not fit in ``queue.max_entries``.

Configurations with the same endpoint, method, content type, timeout, keepalive and
queue parameters share one queue, as in Kong.  ``http_endpoint`` may carry user info
(``https://user:pass@host/``): it is sent as ``Authorization: Basic``.
"""

from __future__ import annotations

from typing import Any

from host.version import KONG_COMPAT_VERSION
from py_plugins._logkit import enqueue, log_entry
from py_plugins._logkit.queue import flush_queues
from py_plugins.http_log._schema import SCHEMA
from py_plugins.http_log._sender import close_sessions, send

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin", "shutdown"]

NAME = "http-log"
PRIORITY = 12
VERSION = KONG_COMPAT_VERSION


#: id(conf) -> (conf, its queue name): computed once per configuration
_QUEUE_NAMES: dict[int, tuple[dict[str, Any], str]] = {}


def _queue_name(conf: dict[str, Any]) -> str:
    cached = _QUEUE_NAMES.get(id(conf))
    if cached is not None and cached[0] is conf:
        return cached[1]
    queue = conf["queue"]
    params = ":".join(str(queue.get(k)) for k in sorted(queue))
    name = (
        f"{conf['http_endpoint']}:{conf['method']}:{conf['content_type']}:"
        f"{conf['timeout']}:{conf['keepalive']}:{params}"
    )
    if len(_QUEUE_NAMES) >= 1024:  # old configurations (reloads): start again
        _QUEUE_NAMES.clear()
    _QUEUE_NAMES[id(conf)] = (conf, name)
    return name


class Plugin:
    """``log``: queue the entry; the queue's task sends it."""

    def log(self, kong: Any, conf: dict[str, Any]) -> None:
        entry = log_entry(kong, conf, NAME)
        if not enqueue(_queue_name(conf), NAME, send, conf["queue"], conf, entry):
            kong.log.err("Failed to enqueue log entry to log server")


async def shutdown() -> None:
    """Host hook, the gateway stops: send what the queues hold, then close the sessions."""
    await flush_queues(NAME)
    await close_sessions()
