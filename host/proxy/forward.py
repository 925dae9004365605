"""Send the (possibly plugin-edited) request to the upstream, with retries."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from host.balancer import Address, Balancer
from host.proxy.headers import build_request_head, upstream_header_lines
from host.proxy.upstream_client import (
    UpstreamClient,
    UpstreamConnectError,
    UpstreamError,
    UpstreamResponse,
    UpstreamTimeout,
)
from host.proxy.upstream_tls import TLSOptions, sni_of

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.proxy.body import RequestBody

__all__ = ["forward", "finish_try", "NoTargetError", "HELD_TRY"]

#: ``ctx.extra`` key of the (balancer, address) whose answered try is still in flight
HELD_TRY = "balancer_try"

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
_DEFAULT_PORTS = {("http", 80), ("https", 443), ("grpc", 80), ("grpcs", 443)}


_NO_PEER = "failure to get a peer from the ring-balancer"


class NoTargetError(Exception):
    """The service points at an upstream with no usable target."""


def finish_try(ctx: Context) -> None:
    """The request is over (response sent, or failed): end the in-flight count of the try
    that answered, if a balancer counts it."""
    held = ctx.extra.pop(HELD_TRY, None)
    if held is not None:
        held[0].finished(held[1])


def _host_header(ctx: Context, host: str, port: int) -> str:
    if ctx.route is not None and ctx.route.get("preserve_host"):
        original = ctx.headers.get("Host")
        if original:
            return original
    if ctx.upstream_host_header:
        return ctx.upstream_host_header
    if ctx.upstream_name is not None:
        upstream = ctx.snapshot.upstreams.get(ctx.upstream_name)  # type: ignore[union-attr]
        if upstream and upstream.get("host_header"):
            return upstream["host_header"]
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if (ctx.upstream_scheme, port) in _DEFAULT_PORTS:
        return host
    return f"{host}:{port}"


def _balancer(ctx: Context) -> Balancer | None:
    """The balancer of the upstream the service names (None: a plain host)."""
    if ctx.upstream_name is None:
        return None
    balancer = ctx.snapshot.balancers.get(ctx.upstream_name)  # type: ignore[union-attr]
    if balancer is None:
        raise NoTargetError(_NO_PEER)
    return balancer


async def forward(ctx: Context, client: UpstreamClient, body: RequestBody, target: str) -> UpstreamResponse:
    """Send the request upstream and return the response head; raises UpstreamError.

    Connection failures (and failures before any byte was sent) are retried up to
    ``ctx.retries`` times on the next target; failures after the request was sent
    are retried only for idempotent methods with a replayable body (nginx's
    ``proxy_next_upstream error timeout``).
    """
    method = ctx.upstream_method or ctx.method
    lines = upstream_header_lines(ctx, ctx.upstream_headers_edited)

    payload: bytes | AsyncIterator[bytes] | None
    chunked = False
    if ctx.upstream_body is not None:
        payload = ctx.upstream_body
        framing = f"Content-Length: {len(payload)}\r\n" if payload or method not in ("GET", "HEAD") else ""
    elif ctx.body is not None:
        payload = ctx.body
        framing = f"Content-Length: {len(payload)}\r\n" if body.has_body else ""
    elif body.has_body:
        payload = body.stream(ctx)
        if body.length is not None:
            framing = f"Content-Length: {body.length}\r\n"
        else:
            framing = "Transfer-Encoding: chunked\r\n"
            chunked = True
    else:
        payload = None
        framing = ""
    replayable = not hasattr(payload, "__aiter__")

    connect_timeout = ctx.connect_timeout / 1000
    write_timeout = ctx.write_timeout / 1000
    read_timeout = ctx.read_timeout / 1000
    # https: the service's TLS options (verification, CAs, client certificate), resolved
    # once per snapshot; the SNI is the Host sent upstream, as Kong's $upstream_host
    tls: TLSOptions | bool = client.tls.options_for(ctx) if ctx.upstream_scheme == "https" else False
    tried: set[tuple[str, int]] = set()
    attempts = 1 + max(0, ctx.retries)
    last: UpstreamError | None = None
    balancer = _balancer(ctx)
    # the balancer hears how each try ended when an algorithm or a check reads it
    observes = balancer is not None and balancer.observes
    address: Address | None = None
    for _attempt in range(attempts):
        if balancer is None:
            host, port = ctx.upstream_host, ctx.upstream_port
        else:
            address = balancer.pick(ctx, tried)
            if address is None:
                raise NoTargetError(_NO_PEER)
            host, port = address.hp
        tried.add((host, port))
        host_header = _host_header(ctx, host, port)
        head = build_request_head(method, target, host_header, lines, framing)
        started = time.perf_counter()
        ctx.t_upstream_start = started
        try_info = {"ip": host, "port": port, "balancer_latency": 0}
        ctx.tries.append(try_info)
        if observes:
            balancer.started(address)  # type: ignore[union-attr, arg-type]
        try:
            resp = await client.request(
                host,
                port,
                head,
                payload,
                tls=tls,
                server_hostname=sni_of(host_header) if tls else None,
                connect_timeout=connect_timeout,
                write_timeout=write_timeout,
                read_timeout=read_timeout,
                head_only=method == "HEAD",
                chunked=chunked,
            )
        except UpstreamError as exc:
            timed_out = isinstance(exc, UpstreamTimeout)
            if observes:  # passive health checks and the circuit breaker count it
                balancer.failed(address, timed_out)  # type: ignore[union-attr, arg-type]
            try_info["state"] = "failed"
            try_info["code"] = 504 if timed_out else 502
            last = exc
            retry = isinstance(exc, UpstreamConnectError) or (timed_out and exc.stage == "connect")
            if not retry and not exc.sent:
                retry = True
            if not retry and method in _IDEMPOTENT and replayable:
                retry = True
            if not retry or (not replayable and exc.sent):
                raise
            continue
        except BaseException:
            if observes:  # cancelled
                balancer.cancelled(address)  # type: ignore[union-attr, arg-type]
            raise
        ctx.t_upstream_headers = now = time.perf_counter()
        if observes:
            balancer.answered(address, resp.status, now - started)  # type: ignore[union-attr, arg-type]
            # in flight until the response is out: the handler calls finish_try at the end
            ctx.extra[HELD_TRY] = (balancer, address)
        return resp
    assert last is not None
    raise last
