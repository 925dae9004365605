"""Admin API security: loopback by default, a token otherwise, bounded bodies, no CORS.

* :func:`check_listen` refuses a non-loopback ``admin_listen`` without ``admin_token``.
* :func:`middleware` checks the ``Kong-Admin-Token`` header (constant-time) when a
  token is configured, refuses bodies over ``admin_client_max_body_size`` with 413
  before reading them, answers errors in Kong's JSON shapes, and adds
  ``X-Kong-Admin-Latency`` and ``Server``.  No ``Access-Control-*`` header is ever
  sent: browsers on other origins cannot read Admin API responses.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from host.admin.errors import AdminError
from host.settings import Settings, parse_listen

__all__ = ["check_listen", "middleware", "TOKEN_HEADER", "AdminListenError"]

log = logging.getLogger("moongate.admin")
TOKEN_HEADER = "Kong-Admin-Token"
_LOOPBACK_NAMES = ("localhost", "ip6-localhost")


class AdminListenError(ValueError):
    """``admin_listen`` is not safe with the current settings."""


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(settings: Settings) -> tuple[str, int] | None:
    """``(host, port)`` of the admin listener (None: ``off``); raises AdminListenError."""
    value = (settings.admin_listen or "off").strip()
    if value == "off":
        return None
    entries = [e.strip() for e in value.split(",") if e.strip()]
    host, port = parse_listen(entries[0])
    if not is_loopback(host) and not settings.admin_token:
        raise AdminListenError(
            f"admin_listen {host}:{port} is not a loopback address: set admin_token "
            "(KONG_ADMIN_TOKEN) so every Admin API request must present it, or listen on 127.0.0.1"
        )
    return host, port


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def middleware(settings: Settings) -> Callable[..., Awaitable[web.StreamResponse]]:
    token = (settings.admin_token or "").encode()
    limit = settings.admin_client_max_body_size
    server = settings.server_token

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        try:
            if token:
                given = request.headers.get(TOKEN_HEADER, "").encode()
                if not hmac.compare_digest(given, token):
                    raise AdminError(
                        401, {"message": "Invalid credentials. Token or User credentials required"}
                    )
            if limit and (request.content_length or 0) > limit:
                raise AdminError(413, {"message": "Payload too large"})
            response = await handler(request)
        except AdminError as err:
            response = web.json_response(err.body, status=err.status, headers=err.headers)
        except web.HTTPRequestEntityTooLarge:
            response = web.json_response({"message": "Payload too large"}, status=413)
        except web.HTTPException as exc:
            if exc.status == 404:
                response = web.json_response({"message": "Not found"}, status=404)
            elif exc.status == 405:
                response = web.json_response({"message": "Method not allowed"}, status=405)
            else:
                response = web.json_response({"message": exc.reason}, status=exc.status)
        except Exception:  # noqa: BLE001 - an Admin API bug must not look like success
            log.exception("admin request %s %s failed", request.method, request.path)
            response = web.json_response({"message": "An unexpected error occurred"}, status=500)
        response.headers["X-Kong-Admin-Latency"] = str(int((time.monotonic() - started) * 1000))
        response.headers["Server"] = server
        return response

    return guard
