"""One proxied request, from the client's request line to the log phase."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import CIMultiDict, istr

from host.context import Context, ResponseSource, use_context
from host.plugins.runner import PhaseRunner, PluginError, log_plugin_error
from host.proxy.body import RequestBody, RequestBodyTooLarge
from host.proxy.forward import HELD_TRY, NoTargetError, finish_try, forward
from host.proxy.headers import PresetHeaders, filter_response_headers, merge_preset
from host.proxy.respond import kong_error, send_response, send_upstream_response
from host.proxy.upstream_client import UpstreamClient, UpstreamError, UpstreamTimeout
from host.proxy.wire import send_raw
from host.router import normalize_path
from host.tracing import SPANS_KEY
from host.tracing import enabled as tracing_enabled
from pdk.client_tls import CONNECTION_KEY as TLS_CONNECTION
from pdk.nginx import STATS
from pdk.phases import Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.config.snapshot import Snapshot
    from host.settings import Settings

__all__ = ["ProxyHandler"]

log = logging.getLogger("moongate.proxy")
_getrandbits = random.getrandbits
_ACCESS = int(Phase.access)
_HOST = istr("Host")
_TE = istr("TE")
_CONTENT_LENGTH = istr("Content-Length")

#: what a request needs from its service: scheme, host, upstream name, port, timeouts, retries
ServiceTarget = tuple[str, str, "str | None", int, int, int, int, int]


def _connection_info(transport: Any) -> tuple[str, int, str, int, str]:
    if transport is None:
        return ("", 0, "", 0, "http")
    peer = transport.get_extra_info("peername") or ("", 0)
    sock = transport.get_extra_info("sockname") or ("", 0)
    scheme = "https" if transport.get_extra_info("sslcontext") else "http"
    return (peer[0], peer[1], sock[0], sock[1], scheme)


def _service_target(snapshot: Snapshot, service: dict[str, Any]) -> ServiceTarget:
    """The upstream fields of the context for a service (Kong's defaults filled in)."""
    scheme = service.get("protocol") or "http"
    host = service["host"]
    retries = service.get("retries")
    return (
        scheme,
        host,
        host if snapshot.has_upstream(host) else None,
        service.get("port") or (443 if scheme == "https" else 80),
        service.get("connect_timeout") or 60000,
        service.get("write_timeout") or 60000,
        service.get("read_timeout") or 60000,
        5 if retries is None else retries,
    )


class ProxyHandler:
    """The aiohttp low-level handler of the proxy listener.

    ``snapshot`` is replaced atomically on reload; each request keeps the one it
    started with.
    """

    def __init__(
        self, snapshot: Snapshot, settings: Settings, client: UpstreamClient, runner: PhaseRunner
    ) -> None:
        self.snapshot = snapshot
        self.settings = settings
        self.client = client
        self.runner = runner
        self.log_tasks: set[asyncio.Task[None]] = set()
        #: tracing_instrumentations "router": time the route match (the kong.router span)
        self._trace_router = tracing_enabled(settings, "router")
        #: per service id, what _prepare_upstream needs (for the snapshot in _targets_of)
        self._targets: dict[str, ServiceTarget] = {}
        self._targets_of: Snapshot | None = None
        #: per-connection facts (peer, local address, scheme), looked up once per connection
        self._conn_info: weakref.WeakKeyDictionary[Any, tuple[str, int, str, int, str]] = (
            weakref.WeakKeyDictionary()
        )

    # -- request set-up ------------------------------------------------------------------
    def _context(self, request: web.BaseRequest) -> Context:
        ctx = Context(self.snapshot, self.settings)
        ctx.response_headers = PresetHeaders()  # tells set from added headers (merge_preset)
        ctx.request_id = f"{_getrandbits(128):032x}"
        ctx.method = request.method
        transport = request.transport
        info = self._conn_info.get(transport)
        if info is None:
            info = _connection_info(transport)
            if transport is not None:
                self._conn_info[transport] = info
        ctx.peer_ip, ctx.peer_port, sock_host, ctx.port, ctx.scheme = info
        headers = request.headers
        ctx.headers = headers
        host = headers.get(_HOST, "")
        ctx.host = (host.rpartition(":")[0] if host.count(":") == 1 else host).lower() or sock_host
        version = request.version
        ctx.http_version = version[0] + version[1] / 10
        raw = request.raw_path
        path, sep, query = raw.partition("?")
        ctx.request_uri = raw
        ctx.raw_path = path
        ctx.raw_query = query
        ctx.path = normalize_path(path)
        ctx.client_ip = self._real_ip(ctx, headers)
        return ctx

    def _real_ip(self, ctx: Context, headers: Any) -> str:
        settings = self.settings
        if settings.trusted_ips and settings.is_trusted(ctx.peer_ip):
            value = headers.get(settings.real_ip_header)
            if value:
                parts = [p.strip() for p in value.split(",") if p.strip()]
                if parts:
                    if not settings.real_ip_recursive:
                        return parts[-1]
                    for candidate in reversed(parts):
                        if not settings.is_trusted(candidate):
                            return candidate
                    return parts[0]
        return ctx.peer_ip

    # -- the request -----------------------------------------------------------------------
    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        STATS["total_requests"] += 1
        ctx = self._context(request)
        use_context(ctx)
        body = RequestBody(request)
        runner = self.runner
        resp: web.StreamResponse | None = None
        try:
            resp = await self._process(ctx, request, body, runner)
        except PluginError as err:
            log_plugin_error(ctx, err)
            resp = await self._fail(ctx, request, 500)
        except ConnectionError:
            # the client went away mid-response; the upstream connection is already released
            resp = web.Response(status=499)
        except Exception:  # noqa: BLE001 - the worker must keep serving
            log.exception("unexpected error while proxying request %s", ctx.request_id)
            resp = await self._fail(ctx, request, 500)
        finally:
            ctx.t_end = time.perf_counter()
            if HELD_TRY in ctx.extra:  # least-connections counts the try until now
                finish_try(ctx)
            if runner.has_phase(ctx, "log"):
                # the response is out already: handlers run now, and a task carries on
                # only if one of them waits for I/O
                rest = self._log_phase(ctx)
                if rest is not None:
                    task = asyncio.get_running_loop().create_task(rest)
                    self.log_tasks.add(task)
                    task.add_done_callback(self.log_tasks.discard)
        return resp  # type: ignore[return-value]

    async def _fail(self, ctx: Context, request: web.BaseRequest, status: int) -> web.StreamResponse:
        """An unexpected error: a 500 if nothing was sent yet, otherwise drop the connection."""
        if ctx.headers_sent:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never written: the transport is closed
        ctx.response_headers = CIMultiDict()
        kong_error(ctx, status, "An unexpected error occurred")
        ctx.response_source = ResponseSource.ERROR
        return await send_response(ctx, request, self.runner, filters=False)

    async def _process(
        self, ctx: Context, request: web.BaseRequest, body: RequestBody, runner: PhaseRunner
    ) -> web.StreamResponse:
        snapshot = ctx.snapshot
        assert snapshot is not None
        settings = self.settings
        if "rewrite" in snapshot.plugins.global_plugins.calls:
            await body.buffer(ctx, settings.client_body_buffer_size)
            await runner.rewrite(ctx)
            if ctx.exited:
                return await send_response(ctx, request, runner)

        sni = None
        if ctx.scheme == "https":  # routes may match on the TLS server name (``snis``)
            connection = ctx.extra.get(TLS_CONNECTION)
            sni = connection.server_name if connection is not None else None
        if self._trace_router:
            started = time.perf_counter()
        match = snapshot.router.match(
            ctx.method, ctx.headers.get(_HOST, ""), ctx.path, ctx.headers, ctx.port, ctx.scheme, sni
        )
        if self._trace_router:
            ctx.extra.setdefault(SPANS_KEY, []).append(("kong.router", started, time.perf_counter(), None))
        ctx.phase = _ACCESS
        if match is None:
            kong_error(ctx, 404, "no Route matched with those values")
            return await send_response(ctx, request, runner)
        route = match.route
        service = match.service
        ctx.router_match = match  # ctx.uri_captures are made from it when asked for
        ctx.route = route
        ctx.service = service
        ctx.stripped_prefix = match.stripped_prefix  # kong.request.get_forwarded_prefix() in access
        protocols = route.get("protocols")
        https_only = protocols and "https" in protocols and "http" not in protocols
        if https_only and self._protocol_redirect(ctx, route):
            return await send_response(ctx, request, runner)
        if service is None:
            kong_error(ctx, 503, "no Service found with those values")
            return await send_response(ctx, request, runner)
        self._prepare_upstream(ctx, snapshot, service)

        plan = snapshot.plugins.plan(route["id"], service["id"])
        if plan.candidates:
            if body.has_body:
                await body.buffer(ctx, settings.client_body_buffer_size)
            elif ctx.body is None:
                ctx.body = b""  # what buffer() stores for a request without a body
            pending = runner.access(ctx, plan)
            if pending is not None:
                await pending
            if ctx.exited:
                return await send_response(ctx, request, runner)
        else:
            runner.skip_access(ctx)

        target = self._upstream_target(ctx, match)
        ctx.extra["upstream_uri"] = target
        ctx.response_source = ResponseSource.SERVICE
        try:
            upstream = await forward(ctx, self.client, body, target)
        except NoTargetError as exc:
            kong_error(ctx, 503, str(exc))
            return await send_response(ctx, request, runner)
        except RequestBodyTooLarge:  # a streamed body went over a plugin's limit
            kong_error(ctx, 413, "Request size limit exceeded")
            return await send_response(ctx, request, runner)
        except UpstreamTimeout as exc:
            log.error("upstream timed out (%s) for request %s", exc, ctx.request_id)
            kong_error(ctx, 504, "The upstream server is timing out")
            return await send_response(ctx, request, runner)
        except UpstreamError as exc:
            log.error("upstream failed (%s) for request %s", exc, ctx.request_id)
            kong_error(ctx, 502, "An invalid response was received from the upstream server")
            return await send_response(ctx, request, runner)
        ctx.service_status = ctx.status = upstream.status
        if not (ctx.collected.sees_response or ctx.buffered_proxying):
            # no plugin reads or edits the response: the upstream's head goes out as it
            # came, with the headers plugins set in access
            sent = await send_raw(ctx, request, upstream)
            if sent is not None:
                return sent
        client_te = ctx.headers.get(_TE)
        # the response's headers, for plugins to edit; kong.service.response builds its
        # own copy from the raw ones when asked
        headers = filter_response_headers(upstream.raw_headers, client_te)
        ctx.service_raw_headers = (upstream.raw_headers, client_te)
        upstream_length = headers.get(_CONTENT_LENGTH)
        pre_set = ctx.response_headers
        if pre_set:  # set by plugins in access: Kong's set/add rules (headers.merge_preset)
            merge_preset(headers, pre_set)
        ctx.response_headers = headers
        return await send_upstream_response(ctx, request, runner, upstream, upstream_length)

    def _protocol_redirect(self, ctx: Context, route: dict[str, Any]) -> bool:
        """An https-only route reached over http: 426 or a redirect (True when answered)."""
        forwarded = ctx.scheme
        if self.settings.is_trusted(ctx.peer_ip):
            forwarded = (ctx.headers.get("X-Forwarded-Proto") or ctx.scheme).lower()
        if forwarded == "https":
            return False
        code = route.get("https_redirect_status_code") or 426
        if code == 426:
            kong_error(
                ctx,
                426,
                "Please use HTTPS protocol",
                {"Connection": "Upgrade", "Upgrade": "TLS/1.2, HTTP/1.1"},
            )
        else:
            ctx.status = code
            ctx.response_headers["Location"] = f"https://{ctx.host}{ctx.request_uri}"
            ctx.exit_body = b""
            ctx.exited = True
            ctx.response_source = ResponseSource.EXIT
        return True

    def _prepare_upstream(self, ctx: Context, snapshot: Snapshot, service: dict[str, Any]) -> None:
        if snapshot is not self._targets_of:  # a reload: entities changed
            self._targets = {}
            self._targets_of = snapshot
        target = self._targets.get(service["id"])
        if target is None:
            target = self._targets[service["id"]] = _service_target(snapshot, service)
        (
            ctx.upstream_scheme,
            ctx.upstream_host,
            upstream_name,
            ctx.upstream_port,
            ctx.connect_timeout,
            ctx.write_timeout,
            ctx.read_timeout,
            ctx.retries,
        ) = target
        if upstream_name is not None:
            ctx.upstream_name = upstream_name

    def _upstream_target(self, ctx: Context, match: Any) -> str:
        path = ctx.upstream_path
        if path is None:
            path = match.upstream_path(ctx.path)
        query = ctx.raw_query if ctx.upstream_query is None else ctx.upstream_query
        if query or (ctx.upstream_query is None and "?" in ctx.request_uri):
            return f"{path}?{query}"
        return path

    def _log_phase(self, ctx: Context) -> Coroutine[Any, Any, None] | None:
        try:
            rest = self.runner.start_log(ctx)
        except Exception:  # noqa: BLE001
            log.exception("log phase failed for request %s", ctx.request_id)
            return None
        return None if rest is None else self._log_rest(ctx, rest)

    async def _log_rest(self, ctx: Context, rest: Coroutine[Any, Any, None]) -> None:
        try:
            await rest
        except Exception:  # noqa: BLE001
            log.exception("log phase failed for request %s", ctx.request_id)
