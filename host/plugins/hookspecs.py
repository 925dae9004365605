"""The phase contract of a Python plugin, as pluggy hook specifications.

A Python plugin implements any of these as methods (``def access(self, kong, conf)``
or ``async def access(self, kong, conf)``); its arguments must be a subset of the
specification's, so a misspelled argument or phase is refused at load time with
a message naming the plugin, file and method.  The phase runner, not pluggy's
broadcast call, decides the order: PRIORITY descending across Lua and Python.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("moongate")
hookimpl = pluggy.HookimplMarker("moongate")

__all__ = ["hookspec", "hookimpl", "PHASE_SPECS"]

# --- once per worker / config ---------------------------------------------------------------


@hookspec
def init_worker(kong: Any) -> None:
    """Called once when a worker starts, before it serves requests (no request context)."""


@hookspec
def configure(kong: Any, configs: list[dict[str, Any]] | None) -> None:
    """Called at start and after every config change with every enabled ``conf`` of the plugin."""


# --- per request ------------------------------------------------------------------------------


@hookspec
def certificate(kong: Any, conf: dict[str, Any]) -> None:
    """TLS handshake of an HTTPS request (global plugins only)."""


@hookspec
def rewrite(kong: Any, conf: dict[str, Any]) -> None:
    """Every request, before routing (global plugins only)."""


@hookspec
def access(kong: Any, conf: dict[str, Any]) -> None:
    """After routing, before the upstream is called: authenticate, limit, transform, exit."""


@hookspec
def response(kong: Any, conf: dict[str, Any]) -> None:
    """After the whole upstream response was received (buffered); replaces the filters."""


@hookspec
def header_filter(kong: Any, conf: dict[str, Any]) -> None:
    """When the response headers are about to be sent to the client."""


@hookspec
def body_filter(kong: Any, conf: dict[str, Any]) -> None:
    """For each chunk of the response body (``kong.response.get_raw_body`` buffers)."""


@hookspec
def log(kong: Any, conf: dict[str, Any]) -> None:
    """After the response was sent; never delays the client."""


PHASE_SPECS = (
    init_worker,
    configure,
    certificate,
    rewrite,
    access,
    response,
    header_filter,
    body_filter,
    log,
)
