"""kong.service.response: the response the upstream service returned.

Only the upstream's own status and headers are visible here (``ctx.service_status``,
``ctx.service_headers``), not the ones plugins or Kong added.  The body is
available only with buffered proxying (a plugin with a ``response`` handler, or
``kong.service.request.enable_buffering()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pdk._body import decode_body
from pdk._headers import HeaderDict, check_max, header_dict
from pdk._settings import settings_of
from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import SERVICE_RESPONSE, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["get_status", "get_headers", "get_header", "get_raw_body", "get_body"]

NOT_BUFFERED = "service body is only available with buffered proxying (see: kong.service.request.enable_buffering function)"


@phase_checked(SERVICE_RESPONSE)
def get_status(ctx: Context) -> int | None:
    """The status code the upstream returned.

    Returns:
        The status, or None when the request was not proxied.

    Example:
        Lua: local status = kong.service.response.get_status() -- 200
        Python: status = kong.service.response.get_status()  # 200
    """
    return ctx.service_status


@phase_checked(SERVICE_RESPONSE)
def get_headers(ctx: Context, max_headers: int | None = None) -> HeaderDict:
    """The headers the upstream returned.

    Args:
        max_headers: the most header lines to read, 1..1000 (default ``lua_max_resp_headers``, 100).

    Returns:
        A dict keyed by lower-case name (lists for repeated headers); empty when
        the request was not proxied.

    Raises:
        PDKArgumentError: ``max_headers`` is not a number in 1..1000.

    Example:
        Lua: local headers = kong.service.response.get_headers()
        Python: headers = kong.service.response.get_headers()
    """
    if max_headers is None:
        return header_dict(ctx.service_headers, settings_of(ctx).lua_max_resp_headers)
    return header_dict(ctx.service_headers, check_max(max_headers, "max_headers"))


@phase_checked(SERVICE_RESPONSE)
def get_header(ctx: Context, name: str) -> str | None:
    """The first value of a header the upstream returned.

    Args:
        name: the header name (case-insensitive; ``_`` may stand for ``-``).

    Returns:
        The value, or None when the upstream did not send it.

    Raises:
        PDKArgumentError: ``name must be a string``.

    Example:
        Lua: local v = kong.service.response.get_header("X-Upstream")
        Python: v = kong.service.response.get_header("X-Upstream")
    """
    if not isinstance(name, str):
        raise PDKArgumentError("name must be a string")
    headers = ctx.service_headers
    if not headers:
        return None
    value = headers.get(name)
    if value is None and "_" in name:
        value = headers.get(name.replace("_", "-"))
    return value


def _buffered_body(ctx: Context) -> bytes:
    if not ctx.buffered_proxying:
        raise PDKError(NOT_BUFFERED)
    return ctx.service_body or b""


@phase_checked(SERVICE_RESPONSE)
def get_raw_body(ctx: Context) -> bytes:
    """The body the upstream returned (buffered proxying only).

    Returns:
        The body bytes.

    Raises:
        PDKError: the response was not buffered.

    Example:
        Lua: local body = kong.service.response.get_raw_body()
        Python: body = kong.service.response.get_raw_body()
    """
    return _buffered_body(ctx)


@phase_checked(SERVICE_RESPONSE)
def get_body(ctx: Context, mimetype: str | None = None, max_args: int | None = None) -> Any:
    """The upstream body decoded by its content type (buffered proxying only).

    Args:
        mimetype: decode as this type instead of the upstream Content-Type.
        max_args: the most form arguments to parse, 1..1000 (default 100).

    Returns:
        The decoded body (a dict, or a list for a JSON array).

    Raises:
        PDKArgumentError: ``mimetype`` or ``max_args`` is invalid.
        PDKError: not buffered, ``missing content type``, ``unsupported content type '...'``,
            ``invalid json body`` or ``unable to decode multipart body``.

    Example:
        Lua: local body, err = kong.service.response.get_body()
        Python: body = kong.service.response.get_body()
    """
    body = _buffered_body(ctx)
    if mimetype is not None and not isinstance(mimetype, str):
        raise PDKArgumentError("mimetype must be a string")
    limit = 100 if max_args is None else check_max(max_args, "max_args")
    headers = ctx.service_headers
    content_type = mimetype or (headers.get("Content-Type") if headers else None)
    return decode_body(body, content_type, limit)
