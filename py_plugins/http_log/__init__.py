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
from py_plugins.http_log._schema import SCHEMA
from py_plugins.http_log._sender import send

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin"]

NAME = "http-log"
PRIORITY = 12
VERSION = KONG_COMPAT_VERSION


def _queue_name(conf: dict[str, Any]) -> str:
    queue = conf["queue"]
    params = ":".join(str(queue.get(k)) for k in sorted(queue))
    return (
        f"{conf['http_endpoint']}:{conf['method']}:{conf['content_type']}:"
        f"{conf['timeout']}:{conf['keepalive']}:{params}"
    )


class Plugin:
    """``log``: queue the entry; the queue's task sends it."""

    def log(self, kong: Any, conf: dict[str, Any]) -> None:
        entry = log_entry(kong, conf, NAME)
        if not enqueue(_queue_name(conf), NAME, send, conf["queue"], conf, entry):
            kong.log.err("Failed to enqueue log entry to log server")
