"""The request context: the one object that carries a request through every phase.

The proxy handler creates one :class:`Context` per request and passes it explicitly
through the core (router, phase runner, upstream call).  While plugin code runs,
the context is made current through a :class:`contextvars.ContextVar`, so PDK
functions such as ``kong.request.get_header()`` need no argument.  PDK namespaces
are thin views over these fields; nothing else holds per-request state.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, CIMultiDictProxy

from host.proxy.headers import upstream_request_headers
from pdk.phases import Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.config.snapshot import Snapshot
    from host.settings import Settings

__all__ = ["Context", "current_context", "use_context", "IDLE_CONTEXT", "ResponseSource"]


_NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())


class ResponseSource:
    """Values of ``kong.response.get_source()``."""

    SERVICE = "service"
    EXIT = "exit"
    ERROR = "error"


class Context:
    """Everything one request carries from the first phase to the log phase.

    Field groups (the PDK namespace that reads or writes them in brackets):

    * identity and timing: ``request_id``, ``started_at`` (epoch seconds),
      ``t0`` (``time.perf_counter()`` at arrival), upstream timings;
    * the client request, read-only [kong.request, kong.client]: ``method``,
      ``scheme``, ``host``, ``port``, ``http_version``, ``raw_path`` (as received,
      before ``?``), ``path`` (normalized), ``raw_query``, ``request_uri`` (path with
      query as received), ``headers`` (case-insensitive multi-dict), ``client_ip``
      (after trusted real-IP handling), ``peer_ip``/``peer_port`` (the direct peer),
      ``body`` (the buffered body, or ``None`` when not read / too large);
    * routing [kong.router]: ``route``, ``service`` (entity dicts), ``uri_captures``,
      ``stripped_prefix`` (what ``strip_path`` removed, for X-Forwarded-Prefix);
    * identity of the caller [kong.client]: ``consumer``, ``credential``;
    * the request to the upstream [kong.service, kong.service.request]:
      ``upstream_*`` fields; ``upstream_headers`` is a copy of the client's
      headers (hop-by-hop headers removed), made when first used; the proxy adds
      X-Forwarded-*, Via and X-Real-IP when it sends the request;
    * the upstream response [kong.service.response]: ``service_status``,
      ``service_headers``, ``service_body`` (only when buffered);
    * the response to the client [kong.response]: ``status``, ``response_headers``,
      ``response_source``, ``exited`` / ``exit_body``, ``headers_sent``;
    * body_filter state: ``body_chunk``, ``body_eof``, ``body_buffer``;
    * plugin state [kong.ctx, kong.plugin, kong.log]: ``shared``, ``plugin_ctx``
      (per plugin name), ``plugin_name``/``plugin_id`` of the running plugin,
      ``serialize_values``;
    * the phase runner's bookkeeping: ``phase``, ``plugins`` and ``collected``
      (the configs collected during access and their handlers per phase, for the
      later phases), ``tries``.
    """

    # Every field is a slot: setting and reading one is cheaper than growing an instance
    # dict (dozens of fields are set per request).  ``__dict__`` stays available for
    # attributes an extension adds; the defaults are set in ``__init__``.
    __slots__ = tuple(
        [
            "started_at",
            "t0",
            "snapshot",
            "settings",
            "headers",
            "tries",
            "response_headers",
            "shared",
            "plugin_ctx",
            "serialize_values",
            "extra",
            "request_id",
            "t_upstream_start",
            "t_upstream_headers",
            "t_end",
            "phase",
            "method",
            "scheme",
            "host",
            "port",
            "http_version",
            "raw_path",
            "path",
            "raw_query",
            "request_uri",
            "client_ip",
            "peer_ip",
            "peer_port",
            "body",
            "body_too_large",
            "query_cache",
            "request_size",
            "route",
            "service",
            "stripped_prefix",
            "router_match",
            "_uri_captures",
            "consumer",
            "credential",
            "auth_serial",
            "auth_shared",
            "upstream_scheme",
            "upstream_method",
            "upstream_path",
            "upstream_query",
            "_upstream_headers",
            "upstream_body",
            "upstream_host",
            "upstream_port",
            "upstream_host_header",
            "upstream_name",
            "connect_timeout",
            "write_timeout",
            "read_timeout",
            "retries",
            "buffered_proxying",
            "service_status",
            "_service_headers",
            "service_raw_headers",
            "service_body",
            "status",
            "response_source",
            "exited",
            "exit_body",
            "headers_sent",
            "response_size",
            "body_chunk",
            "body_eof",
            "body_buffer",
            "plugin_name",
            "plugin_id",
            "plugins",
            "collected",
            "__dict__",
            "__weakref__",  # what a request opened (Lua cosockets, Redis connections) closes with it
        ]
    )

    def __init__(self, snapshot: Snapshot | None = None, settings: Settings | None = None) -> None:
        self.started_at = time.time()
        self.t0 = time.perf_counter()
        self.snapshot = snapshot
        self.settings = settings
        self.headers: CIMultiDictProxy[str] | CIMultiDict[str] = _NO_HEADERS
        self.tries: list[dict[str, Any]] = []
        self.response_headers: CIMultiDict[str] = CIMultiDict()
        self.shared: dict[str, Any] = {}
        self.plugin_ctx: dict[str, dict[str, Any]] = {}
        self.serialize_values: list[tuple[str, Any, str]] = []
        self.extra: dict[str, Any] = {}
        self.request_id: str = ""
        self.t_upstream_start: float = 0.0
        self.t_upstream_headers: float = 0.0
        self.t_end: float = 0.0
        self.phase: Phase = Phase.init_worker
        self.method: str = "GET"
        self.scheme: str = "http"
        self.host: str = ""
        self.port: int = 0
        self.http_version: float = 1.1
        self.raw_path: str = "/"
        self.path: str = "/"
        self.raw_query: str = ""
        self.request_uri: str = "/"
        self.client_ip: str = ""
        self.peer_ip: str = ""
        self.peer_port: int = 0
        self.body: bytes | None = None
        self.body_too_large: bool = False
        self.query_cache: dict[str, Any] | None = None
        self.request_size: int = 0
        self.route: dict[str, Any] | None = None
        self.service: dict[str, Any] | None = None
        self.stripped_prefix: str | None = None
        self.router_match: Any = None
        self._uri_captures: dict[str, Any] | None = None  # made on first use: see uri_captures
        self.consumer: dict[str, Any] | None = None
        self.credential: dict[str, Any] | None = None
        self.auth_serial: int = 0  # authentications so far (host/lua/entity_refs.py)
        self.auth_shared: bool = False  # consumer/credential are the snapshot's (read-only)
        self.upstream_scheme: str = "http"
        self.upstream_method: str | None = None  # None: same as the client's
        self.upstream_path: str | None = None  # None: built by the router rules
        self.upstream_query: str | None = None  # None: the client's raw query
        self._upstream_headers: CIMultiDict[str] | None = None  # made on first use: see upstream_headers
        self.upstream_body: bytes | None = None  # None: the client's body, streamed
        self.upstream_host: str = ""
        self.upstream_port: int = 0
        self.upstream_host_header: str | None = None  # set by kong.service.request.set_header("Host")
        self.upstream_name: str | None = None  # an Upstream entity name, balanced
        self.connect_timeout: int = 60000
        self.write_timeout: int = 60000
        self.read_timeout: int = 60000
        self.retries: int = 5
        self.buffered_proxying: bool = False
        self.service_status: int | None = None
        self._service_headers: CIMultiDictProxy[str] | CIMultiDict[str] | None = None
        #: the upstream's raw response headers and the client's TE: service_headers' source
        self.service_raw_headers: tuple[list[tuple[bytes, bytes]], str | None] | None = None
        self.service_body: bytes | None = None
        self.status: int = 200
        self.response_source: str = ResponseSource.ERROR
        self.exited: bool = False
        self.exit_body: bytes | None = None
        self.headers_sent: bool = False
        self.response_size: int = 0
        self.body_chunk: bytes | None = None
        self.body_eof: bool = False
        self.body_buffer: list[bytes] | None = None
        self.plugin_name: str | None = None
        self.plugin_id: str | None = None
        # the plugins collected in access, as ``PluginInstance`` objects (read-only: may be shared)
        self.plugins: Sequence[Any] = ()
        # their handlers per phase (``host.plugins.iterator.Collected``); None until access ran
        self.collected: Any = None

    @property
    def uri_captures(self) -> dict[str, Any]:
        """The route's regex captures, ``{"unnamed": [...], "named": {...}}`` (made on first use)."""
        captures = self._uri_captures
        if captures is None:
            match = self.router_match
            if match is None:  # not routed yet
                return {"unnamed": [], "named": {}}
            captures = self._uri_captures = match.uri_captures
        return captures

    @uri_captures.setter
    def uri_captures(self, captures: dict[str, Any]) -> None:
        self._uri_captures = captures

    @property
    def upstream_headers(self) -> CIMultiDict[str]:
        """The headers for the upstream request, as plugins edit them.

        Made on first use from the client's headers without hop-by-hop ones: a request
        no plugin touches never builds this multi-dict (the proxy then writes the
        upstream head straight from the client's headers).
        """
        headers = self._upstream_headers
        if headers is None:
            headers = self._upstream_headers = upstream_request_headers(self.headers)
        return headers

    @upstream_headers.setter
    def upstream_headers(self, headers: CIMultiDict[str]) -> None:
        self._upstream_headers = headers

    @property
    def service_headers(self) -> CIMultiDictProxy[str] | CIMultiDict[str] | None:
        """The upstream's response headers without hop-by-hop ones (``kong.service.response``).

        Made on first use from ``service_raw_headers``: the response to the client has
        its own multi-dict, which plugins edit, so most requests never build this one.
        """
        headers = self._service_headers
        if headers is None and self.service_raw_headers is not None:
            from host.proxy.headers import filter_response_headers  # local: proxy imports context

            headers = self._service_headers = filter_response_headers(*self.service_raw_headers)
        return headers

    @service_headers.setter
    def service_headers(self, headers: CIMultiDictProxy[str] | CIMultiDict[str] | None) -> None:
        self._service_headers = headers

    @property
    def upstream_headers_edited(self) -> CIMultiDict[str] | None:
        """``upstream_headers`` when something asked for them, else ``None``."""
        return self._upstream_headers

    def __repr__(self) -> str:
        return f"<Context {self.request_id} {self.method} {self.request_uri} phase={Phase(self.phase).name}>"


#: the context used outside requests (init_worker, configure, timers, CLI)
IDLE_CONTEXT = Context()

_current: contextvars.ContextVar[Context] = contextvars.ContextVar(
    "moongate_request_context", default=IDLE_CONTEXT
)

current_context = _current.get


def use_context(ctx: Context) -> contextvars.Token[Context]:
    """Make ``ctx`` the context PDK calls see; returns the token to reset it."""
    return _current.set(ctx)


def reset_context(token: contextvars.Token[Context]) -> None:
    """Undo :func:`use_context`."""
    _current.reset(token)
