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
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, CIMultiDictProxy

from pdk.phases import Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.config.snapshot import Snapshot
    from host.settings import Settings

__all__ = ["Context", "current_context", "use_context", "IDLE_CONTEXT", "ResponseSource"]


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
      headers (hop-by-hop headers removed) made by the proxy before ``rewrite``;
      the proxy adds X-Forwarded-*, Via and X-Real-IP when it sends the request;
    * the upstream response [kong.service.response]: ``service_status``,
      ``service_headers``, ``service_body`` (only when buffered);
    * the response to the client [kong.response]: ``status``, ``response_headers``,
      ``response_source``, ``exited`` / ``exit_body``, ``headers_sent``;
    * body_filter state: ``body_chunk``, ``body_eof``, ``body_buffer``;
    * plugin state [kong.ctx, kong.plugin, kong.log]: ``shared``, ``plugin_ctx``
      (per plugin name), ``plugin_name``/``plugin_id`` of the running plugin,
      ``serialize_values``;
    * the phase runner's bookkeeping: ``phase``, ``plugins`` (collected during
      access for the later phases), ``tries``.
    """

    __slots__ = (
        # identity and timing
        "request_id",
        "started_at",
        "t0",
        "t_upstream_start",
        "t_upstream_headers",
        "t_end",
        "snapshot",
        "settings",
        "phase",
        # client request
        "method",
        "scheme",
        "host",
        "port",
        "http_version",
        "raw_path",
        "path",
        "raw_query",
        "request_uri",
        "headers",
        "client_ip",
        "peer_ip",
        "peer_port",
        "body",
        "body_too_large",
        "query_cache",
        "request_size",
        # routing
        "route",
        "service",
        "uri_captures",
        "stripped_prefix",
        "router_match",
        # caller identity
        "consumer",
        "credential",
        # upstream request
        "upstream_scheme",
        "upstream_method",
        "upstream_path",
        "upstream_query",
        "upstream_headers",
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
        "tries",
        # upstream response
        "service_status",
        "service_headers",
        "service_body",
        # client response
        "status",
        "response_headers",
        "response_source",
        "exited",
        "exit_body",
        "headers_sent",
        "response_size",
        # body filter
        "body_chunk",
        "body_eof",
        "body_buffer",
        # plugin state
        "shared",
        "plugin_ctx",
        "plugin_name",
        "plugin_id",
        "serialize_values",
        "plugins",
        "extra",
    )

    def __init__(self, snapshot: Snapshot | None = None, settings: Settings | None = None) -> None:
        self.request_id = ""
        self.started_at = time.time()
        self.t0 = time.perf_counter()
        self.t_upstream_start = 0.0
        self.t_upstream_headers = 0.0
        self.t_end = 0.0
        self.snapshot = snapshot
        self.settings = settings
        self.phase: Phase = Phase.init_worker

        self.method = "GET"
        self.scheme = "http"
        self.host = ""
        self.port = 0
        self.http_version = 1.1
        self.raw_path = "/"
        self.path = "/"
        self.raw_query = ""
        self.request_uri = "/"
        self.headers: CIMultiDictProxy[str] | CIMultiDict[str] = CIMultiDict()
        self.client_ip = ""
        self.peer_ip = ""
        self.peer_port = 0
        self.body: bytes | None = None
        self.body_too_large = False
        self.query_cache: dict[str, Any] | None = None
        self.request_size = 0

        self.route: dict[str, Any] | None = None
        self.service: dict[str, Any] | None = None
        self.uri_captures: dict[str, Any] = {"unnamed": [], "named": {}}
        self.stripped_prefix: str | None = None
        self.router_match: Any = None

        self.consumer: dict[str, Any] | None = None
        self.credential: dict[str, Any] | None = None

        self.upstream_scheme = "http"
        self.upstream_method: str | None = None  # None: same as the client's
        self.upstream_path: str | None = None  # None: built by the router rules
        self.upstream_query: str | None = None  # None: the client's raw query
        self.upstream_headers: CIMultiDict[str] | None = None
        self.upstream_body: bytes | None = None  # None: the client's body, streamed
        self.upstream_host = ""
        self.upstream_port = 0
        self.upstream_host_header: str | None = None  # set by kong.service.request.set_header("Host")
        self.upstream_name: str | None = None  # an Upstream entity name, balanced
        self.connect_timeout = 60000
        self.write_timeout = 60000
        self.read_timeout = 60000
        self.retries = 5
        self.buffered_proxying = False
        self.tries: list[dict[str, Any]] = []

        self.service_status: int | None = None
        self.service_headers: CIMultiDictProxy[str] | CIMultiDict[str] | None = None
        self.service_body: bytes | None = None

        self.status = 200
        self.response_headers: CIMultiDict[str] = CIMultiDict()
        self.response_source = ResponseSource.ERROR
        self.exited = False
        self.exit_body: bytes | None = None
        self.headers_sent = False
        self.response_size = 0

        self.body_chunk: bytes | None = None
        self.body_eof = False
        self.body_buffer: list[bytes] | None = None

        self.shared: dict[str, Any] = {}
        self.plugin_ctx: dict[str, dict[str, Any]] = {}
        self.plugin_name: str | None = None
        self.plugin_id: str | None = None
        self.serialize_values: list[tuple[str, Any, str]] = []
        self.plugins: list[Any] = []
        self.extra: dict[str, Any] = {}

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
