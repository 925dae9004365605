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

    # Immutable defaults live on the class: a request only stores what it changes, which
    # keeps creating a context cheap (it is created for every request).
    request_id: str = ""
    t_upstream_start: float = 0.0
    t_upstream_headers: float = 0.0
    t_end: float = 0.0
    phase: Phase = Phase.init_worker
    method: str = "GET"
    scheme: str = "http"
    host: str = ""
    port: int = 0
    http_version: float = 1.1
    raw_path: str = "/"
    path: str = "/"
    raw_query: str = ""
    request_uri: str = "/"
    client_ip: str = ""
    peer_ip: str = ""
    peer_port: int = 0
    body: bytes | None = None
    body_too_large: bool = False
    query_cache: dict[str, Any] | None = None
    request_size: int = 0
    route: dict[str, Any] | None = None
    service: dict[str, Any] | None = None
    stripped_prefix: str | None = None
    router_match: Any = None
    consumer: dict[str, Any] | None = None
    credential: dict[str, Any] | None = None
    upstream_scheme: str = "http"
    upstream_method: str | None = None  # None: same as the client's
    upstream_path: str | None = None  # None: built by the router rules
    upstream_query: str | None = None  # None: the client's raw query
    upstream_headers: CIMultiDict[str] | None = None
    upstream_body: bytes | None = None  # None: the client's body, streamed
    upstream_host: str = ""
    upstream_port: int = 0
    upstream_host_header: str | None = None  # set by kong.service.request.set_header("Host")
    upstream_name: str | None = None  # an Upstream entity name, balanced
    connect_timeout: int = 60000
    write_timeout: int = 60000
    read_timeout: int = 60000
    retries: int = 5
    buffered_proxying: bool = False
    service_status: int | None = None
    service_headers: CIMultiDictProxy[str] | CIMultiDict[str] | None = None
    service_body: bytes | None = None
    status: int = 200
    response_source: str = ResponseSource.ERROR
    exited: bool = False
    exit_body: bytes | None = None
    headers_sent: bool = False
    response_size: int = 0
    body_chunk: bytes | None = None
    body_eof: bool = False
    body_buffer: list[bytes] | None = None
    plugin_name: str | None = None
    plugin_id: str | None = None

    def __init__(self, snapshot: Snapshot | None = None, settings: Settings | None = None) -> None:
        self.started_at = time.time()
        self.t0 = time.perf_counter()
        self.snapshot = snapshot
        self.settings = settings
        self.headers: CIMultiDictProxy[str] | CIMultiDict[str] = _NO_HEADERS
        self.uri_captures: dict[str, Any] = {"unnamed": [], "named": {}}
        self.tries: list[dict[str, Any]] = []
        self.response_headers: CIMultiDict[str] = CIMultiDict()
        self.shared: dict[str, Any] = {}
        self.plugin_ctx: dict[str, dict[str, Any]] = {}
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
