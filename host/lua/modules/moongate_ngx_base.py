"""Python half of ``moongate.ngx_base``: logging, the current phase, worker identity."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from host.context import current_context
from pdk.phases import Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

logger = logging.getLogger("moongate.plugin")

#: ngx log levels (ngx.EMERG=1 .. ngx.DEBUG=8, STDERR=0) -> logging levels
_LEVELS = {0: 60, 1: 60, 2: 55, 3: logging.CRITICAL, 4: logging.ERROR, 5: logging.WARNING, 6: 25, 7: logging.INFO, 8: logging.DEBUG}

#: our phases -> ngx.get_phase() names
_PHASE_NAMES = {
    int(Phase.init_worker): b"init_worker",
    int(Phase.configure): b"timer",
    int(Phase.certificate): b"ssl_cert",
    int(Phase.rewrite): b"rewrite",
    int(Phase.access): b"access",
    int(Phase.balancer): b"balancer",
    int(Phase.response): b"content",
    int(Phase.header_filter): b"header_filter",
    int(Phase.body_filter): b"body_filter",
    int(Phase.log): b"log",
    int(Phase.error): b"content",
    int(Phase.admin_api): b"content",
}


def backing(host: LuaHost) -> dict[str, Any]:
    settings = host.settings

    def log(level: int, message: bytes) -> None:
        py_level = _LEVELS.get(int(level), logging.ERROR)
        if logger.isEnabledFor(py_level):
            ctx = current_context()
            plugin = ctx.plugin_name
            text = message.decode("utf-8", "replace")
            logger.log(
                py_level,
                f"[{plugin}] {text}" if plugin else text,
                extra={"plugin": plugin, "request_id": ctx.request_id},
            )

    def get_phase() -> bytes:
        return _PHASE_NAMES.get(int(current_context().phase), b"timer")

    def worker_id() -> int:
        return int(host.state.get("worker_id", 0))

    def worker_pid() -> int:
        return os.getpid()

    def worker_count() -> int:
        return int(getattr(settings, "nginx_worker_processes", 1) or 1) if settings else 1

    def prefix() -> bytes:
        return str(getattr(settings, "prefix", os.getcwd()) if settings else os.getcwd()).encode()

    return {
        "log": log,
        "get_phase": get_phase,
        "worker_id": worker_id,
        "worker_pid": worker_pid,
        "worker_count": worker_count,
        "prefix": prefix,
    }
