"""Python half of ``resty.http``: the ``resty.http`` I/O operation (see :mod:`._http_client`).

The Lua side (``host/lua/lua/modules/resty.http.lua``) builds the request from
lua-resty-http's parameters and yields ``H.io("resty.http", ...)``; this operation
sends it with the runtime's shared aiohttp session and resumes the coroutine with
``status, reason, {name1, value1, ...}, body`` or ``nil, err``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host.lua.io_ops import io_op
from host.lua.modules._http_client import HttpClientError, client_of

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.lua.runtime import LuaHost

__all__ = ["http_request", "backing"]


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if value.__class__ is bytes else str(value)


def _seconds(ms: Any) -> float | None:
    return ms / 1000 if isinstance(ms, int | float) and ms > 0 else None


@io_op("resty.http")
async def http_request(
    host: LuaHost,
    ctx: Context,
    method: bytes,
    url: bytes,
    headers: Any,
    body: bytes | None,
    connect_ms: Any,
    send_ms: Any,
    read_ms: Any,
    ssl_verify: Any = True,
    server_name: bytes | None = None,
    proxy: bytes | None = None,
) -> tuple[Any, ...]:
    """Send one request; ``headers`` is a Lua array ``{name1, value1, name2, value2, ...}``."""
    flat = [headers[i] for i in range(1, len(headers) + 1)] if headers is not None else []
    pairs = [(_text(flat[i]), _text(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]
    try:
        status, reason, raw, data = await client_of(host).request(
            _text(method),
            _text(url),
            pairs,
            body,
            (_seconds(connect_ms), _seconds(send_ms), _seconds(read_ms)),  # type: ignore[arg-type]
            ssl_verify=ssl_verify is not False,
            server_name=_text(server_name) if server_name else None,
            proxy=_text(proxy) if proxy else None,
        )
    except HttpClientError as exc:
        return None, str(exc).encode()
    lua_headers = host.runtime.table_from([item for pair in raw for item in pair])
    return status, reason.encode("latin-1", "replace"), lua_headers, data


def backing(host: LuaHost) -> dict[str, Any]:
    return {}
