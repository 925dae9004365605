"""Writing the response to the client: Kong's headers, header_filter, body_filter."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiohttp import web
from multidict import istr

from host.context import ResponseSource
from host.proxy.upstream_client import UpstreamError, UpstreamResponse
from host.proxy.wire import KongHeaders, headers_head, send_head
from pdk.errors import ExitSignal
from pdk.phases import Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.plugins.runner import PhaseRunner

__all__ = ["kong_error", "send_response", "send_upstream_response", "ProxyResponse"]

log = logging.getLogger("moongate.proxy")
_CONTENT_TYPE = istr("Content-Type")
_CONTENT_LENGTH = istr("Content-Length")


class ProxyResponse(web.StreamResponse):
    """A StreamResponse that adds no Content-Type of its own (a proxy forwards what it got).

    Headers are held back until the first body write, so a small response leaves in
    one ``send`` instead of two.
    """

    _send_headers_immediately = False

    async def _prepare_headers(self) -> None:
        had_type = _CONTENT_TYPE in self._headers
        await super()._prepare_headers()
        if not had_type:
            self._headers.popall(_CONTENT_TYPE, None)


def kong_error(ctx: Context, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    """A Kong-generated error response, built by ``kong.response.error`` (Accept-negotiated)."""
    from pdk import kong

    saved = ctx.phase
    ctx.phase = int(Phase.error)
    try:
        kong.response.error(status, message, headers)
    except ExitSignal:
        pass
    finally:
        ctx.phase = saved
    ctx.response_source = ResponseSource.ERROR


def _latency_ms(start: float) -> str:
    return str(int((time.perf_counter() - start) * 1000))


_VIA = istr("Via")
_SERVER = istr("Server")
_UPSTREAM_LATENCY = istr("X-Kong-Upstream-Latency")
_PROXY_LATENCY = istr("X-Kong-Proxy-Latency")
_RESPONSE_LATENCY = istr("X-Kong-Response-Latency")
_REQUEST_ID = istr("X-Kong-Request-Id")


def _kong_headers(ctx: Context, proxied: bool) -> None:
    """Via/Server/latency/request-id headers, added before header_filter as Kong does."""
    assert ctx.settings is not None
    policy = KongHeaders.of(ctx.settings)
    headers = ctx.response_headers
    if policy.server:
        token = policy.token
        if proxied:
            ours = policy.via_value_11 if ctx.http_version < 2 else policy.via_value_2
            via = headers.get(_VIA)
            headers[_VIA] = f"{via}, {ours}" if via else ours
            if _SERVER not in headers:
                headers[_SERVER] = token
        else:
            headers[_SERVER] = token
    if policy.latency:
        if proxied:
            headers[_UPSTREAM_LATENCY] = str(int((ctx.t_upstream_headers - ctx.t_upstream_start) * 1000))
            headers[_PROXY_LATENCY] = str(int((ctx.t_upstream_start - ctx.t0) * 1000))
        else:
            headers[_RESPONSE_LATENCY] = _latency_ms(ctx.t0)
    if policy.request_id:
        headers[_REQUEST_ID] = ctx.request_id


async def _header_filter(ctx: Context, runner: PhaseRunner) -> None:
    if runner.has_phase(ctx, "header_filter"):
        await runner.header_filter(ctx)


async def send_response(
    ctx: Context,
    request: web.BaseRequest,
    runner: PhaseRunner,
    *,
    filters: bool = True,
    header_filter: bool = True,
) -> web.StreamResponse:
    """Send a response Kong generated itself (exit, error, redirect): no upstream body.

    ``filters=False`` skips the plugins' header and body filters: used for the 500 sent
    after a plugin failed, so a failing filter cannot fail its own error page.
    ``header_filter=False`` is for an exit made *during* header_filter: that phase is
    over (Kong runs each handler at most once), the body filters still run.
    """
    if header_filter:
        _kong_headers(ctx, proxied=False)
    body = ctx.exit_body or b""
    if filters and header_filter:
        await _header_filter(ctx, runner)
    body = ctx.exit_body if ctx.exit_body is not None else body
    if filters and runner.filters(ctx, "body_filter"):
        body = await runner.body_filter(ctx, body, True)
    headers = ctx.response_headers
    headers.popall("Transfer-Encoding", None)
    if request.method != "HEAD" or _CONTENT_LENGTH not in headers:
        headers[_CONTENT_LENGTH] = str(len(body))
    resp = ProxyResponse(status=ctx.status, headers=headers)
    ctx.headers_sent = True
    await resp.prepare(request)
    if body and request.method != "HEAD":
        await resp.write(body)
    await resp.write_eof()
    ctx.response_size = len(body)
    return resp


async def send_upstream_response(
    ctx: Context,
    request: web.BaseRequest,
    runner: PhaseRunner,
    upstream: UpstreamResponse,
    upstream_length: str | None,
) -> web.StreamResponse:
    """Stream the upstream's response to the client through the filters
    (``upstream_length``: the upstream's Content-Length)."""
    try:
        phases = runner.collected(ctx).calls
        if ctx.buffered_proxying or "response" in phases:
            ctx.buffered_proxying = True
            ctx.service_body = await upstream.read()
            if runner.wants_response_phase(ctx):
                await runner.response(ctx)
            if ctx.exited:
                return await send_response(ctx, request, runner)
            ctx.exit_body = ctx.service_body
            ctx.response_headers.popall(_CONTENT_LENGTH, None)
            return await _send_buffered(ctx, request, runner)
        _kong_headers(ctx, proxied=True)
        if "header_filter" in phases:
            await runner.header_filter(ctx)
            if ctx.exited:
                upstream.release()
                return await send_response(ctx, request, runner, header_filter=False)
        filtering = "body_filter" in phases
        if not filtering:  # the upstream's body unchanged: written straight to the client
            head = headers_head(request, ctx.status, ctx.response_headers, upstream_length)
            if head is not None:
                return await send_head(ctx, request, upstream, head)
        resp = ProxyResponse(status=ctx.status, headers=ctx.response_headers)
        ctx.headers_sent = True
        await resp.prepare(request)
        size = 0
        if request.method != "HEAD":
            read_chunk_nowait = upstream.read_chunk_nowait
            while True:
                chunk = read_chunk_nowait()  # most chunks are already here: no await
                if chunk is None:
                    chunk = await upstream.read_chunk()
                if filtering:
                    out = await runner.body_filter(ctx, chunk, not chunk)
                else:
                    out = chunk
                if out:
                    size += len(out)
                    await resp.write(out)
                if not chunk:
                    break
        await resp.write_eof()
        ctx.response_size = size
        return resp
    except UpstreamError as exc:
        log.error("upstream failed while sending the body (%s) for request %s", exc, ctx.request_id)
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=502)
    finally:
        upstream.release()


async def _send_buffered(ctx: Context, request: web.BaseRequest, runner: PhaseRunner) -> web.StreamResponse:
    """The response-phase path: the whole body is known, filters run on it once."""
    _kong_headers(ctx, proxied=True)
    await _header_filter(ctx, runner)
    body = ctx.exit_body or b""
    if runner.filters(ctx, "body_filter"):
        body = await runner.body_filter(ctx, body, True)
    headers = ctx.response_headers
    headers[_CONTENT_LENGTH] = str(len(body))
    resp = ProxyResponse(status=ctx.status, headers=headers)
    ctx.headers_sent = True
    await resp.prepare(request)
    if request.method != "HEAD":
        await resp.write(body)
    await resp.write_eof()
    ctx.response_size = len(body)
    return resp
