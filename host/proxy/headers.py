"""Header rules of the proxy: hop-by-hop removal, forwarded headers, the upstream request head.

The upstream request head is built in one pass over the client's headers (or over
``ctx.upstream_headers`` when a plugin edited them): hop-by-hop headers are dropped and
Kong's forwarded headers (X-Forwarded-*, X-Real-IP, Via, X-Kong-Request-Id) are merged
with the semantics of setting them one by one on a multi-dict: a header the client sent
keeps the position of its first occurrence, a new one is appended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict, istr

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "upstream_request_headers",
    "upstream_header_lines",
    "build_request_head",
    "filter_response_headers",
    "forwarded_headers",
    "PresetHeaders",
    "merge_preset",
]

#: removed from what is forwarded in both directions (RFC 9110 §7.6.1 plus legacy names)
HOP_BY_HOP = frozenset(
    istr(h)
    for h in (
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",  # recomputed for the body actually sent
        "host",  # sent from the route/service rules (preserve_host, upstream host_header)
    )
)
_HOP_LOWER = frozenset(str(h).lower() for h in HOP_BY_HOP)
_CONNECTION_KEEP = frozenset({"close", "keep-alive", "upgrade"})
# multi-dict lookups with istr keys skip case-folding the key on every call
_CONNECTION = istr("Connection")
_TE = istr("TE")
_XFF = istr("X-Forwarded-For")
_VIA = istr("Via")
_XF_PROTO = istr("X-Forwarded-Proto")
_XF_HOST = istr("X-Forwarded-Host")
_XF_PORT = istr("X-Forwarded-Port")
_XF_PATH = istr("X-Forwarded-Path")
_XF_PREFIX = istr("X-Forwarded-Prefix")

#: the headers the proxy sets upstream, in the order Kong sets them
FORWARDED = (
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Forwarded-Port",
    "X-Forwarded-Path",
    "X-Forwarded-Prefix",
    "X-Real-IP",
    "Via",
    "X-Kong-Request-Id",
)
_FORWARDED_LOWER = frozenset(name.lower() for name in FORWARDED)


def _connection_tokens(headers: Any) -> set[str]:
    tokens: set[str] = set()
    for value in headers.getall(_CONNECTION, ()):
        for tok in value.split(","):
            tok = tok.strip().lower()
            if tok and tok not in _CONNECTION_KEEP:
                tokens.add(tok)
    return tokens


def _wants_trailers(client_headers: Any) -> bool:
    te = client_headers.get(_TE)
    return bool(te) and "trailers" in te.lower()


def _client_pairs(client_headers: Any) -> list[tuple[str, str]]:
    """The client's headers without hop-by-hop ones (and those named by Connection)."""
    named = _connection_tokens(client_headers) if _CONNECTION in client_headers else ()
    pairs = [
        (name, value)
        for name, value in client_headers.items()
        if (lname := name.lower()) not in _HOP_LOWER and lname not in named
    ]
    if _TE in client_headers and _wants_trailers(client_headers):
        pairs.append(("TE", "trailers"))
    return pairs


def upstream_request_headers(client_headers: Any) -> CIMultiDict[str]:
    """A copy of the client's headers without hop-by-hop headers (what plugins edit)."""
    headers: CIMultiDict[str] = CIMultiDict(client_headers)  # a C-level copy: cheaper than filtering
    for name in client_headers:  # its keys, duplicates included
        if name.lower() in _HOP_LOWER:
            headers.popall(name, None)
    if _CONNECTION in client_headers:
        for name in _connection_tokens(client_headers):
            headers.popall(name, None)
    if _TE in client_headers and _wants_trailers(client_headers):
        headers[_TE] = "trailers"
    return headers


def forwarded_headers(ctx: Context) -> tuple[str | None, ...]:
    """Values of :data:`FORWARDED` for this request.

    ``None`` for X-Forwarded-Prefix removes the header; ``None`` for X-Kong-Request-Id
    (disabled by ``headers_upstream``) leaves the client's header as it is.
    """
    client = ctx.headers
    settings = ctx.settings
    trusted = settings is not None and settings.is_trusted(ctx.peer_ip)
    xff = client.get(_XFF)
    via = client.get(_VIA)
    token = settings.server_token if settings is not None else "moongate"
    http_version = ctx.http_version
    version = "1.0" if http_version == 1.0 else ("2" if http_version >= 2 else "1.1")
    request_id = (
        ctx.request_id if settings is None or "x-kong-request-id" in settings.headers_upstream else None
    )
    if trusted:
        get = client.get
        proto = get(_XF_PROTO) or ctx.scheme
        host = get(_XF_HOST) or ctx.host
        port = get(_XF_PORT) or str(ctx.port)
        path = get(_XF_PATH) or ctx.raw_path
        prefix = get(_XF_PREFIX) or ctx.stripped_prefix
    else:
        proto, host, port, path, prefix = (
            ctx.scheme,
            ctx.host,
            str(ctx.port),
            ctx.raw_path,
            ctx.stripped_prefix,
        )
    return (
        f"{xff}, {ctx.peer_ip}" if xff else ctx.client_ip,
        proto,
        host,
        port,
        path,
        prefix or None,
        ctx.client_ip,
        f"{via}, {version} {token}" if via else f"{version} {token}",
        request_id,
    )


def _merge(pairs: Any, values: tuple[str | None, ...]) -> list[str]:
    """Header lines of ``pairs`` with the forwarded headers set in (multi-dict semantics)."""
    wanted = {name.lower(): (name, value) for name, value in zip(FORWARDED, values, strict=True)}
    if values[-1] is None:  # the request id is not sent: a client's one passes unchanged
        del wanted["x-kong-request-id"]
    lines = []
    for name, value in pairs:
        lname = name.lower()
        if lname in _FORWARDER_OWNS:
            continue
        found = wanted.get(lname)
        if found is None:
            lines.append(f"{name}: {value}\r\n")
        elif found[0] is not None:
            if found[1] is not None:  # the first occurrence takes the new value, in place
                lines.append(f"{found[0]}: {found[1]}\r\n")
            wanted[lname] = (None, None)  # later occurrences are dropped
    for name, value in wanted.values():
        if name is not None and value is not None:
            lines.append(f"{name}: {value}\r\n")
    return lines


def _forwarded_block(values: tuple[str | None, ...]) -> str:
    """The forwarded header lines, when none of them is already in the headers."""
    xff, proto, host, port, path, prefix, real_ip, via, request_id = values
    block = (
        f"X-Forwarded-For: {xff}\r\nX-Forwarded-Proto: {proto}\r\nX-Forwarded-Host: {host}\r\n"
        f"X-Forwarded-Port: {port}\r\nX-Forwarded-Path: {path}\r\n"
    )
    if prefix is not None:
        block += f"X-Forwarded-Prefix: {prefix}\r\n"
    block += f"X-Real-IP: {real_ip}\r\nVia: {via}\r\n"
    if request_id is not None:
        block += f"X-Kong-Request-Id: {request_id}\r\n"
    return block


#: what a plugin may have set in the edited upstream headers that the forwarder writes
#: itself: Host from the route rules, the framing for the body actually sent (Kong's
#: template-transformer sets Content-Length after ngx.req.set_body_data), Connection
_FORWARDER_OWNS = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive"})


def upstream_header_lines(ctx: Context, edited: CIMultiDict[str] | None) -> str:
    """Every header line sent upstream except Host, framing and Connection.

    ``edited`` is ``ctx.upstream_headers`` when plugins made it (already without the
    client's hop-by-hop headers; a Host, Content-Length, Transfer-Encoding or
    Connection a plugin set there is not sent: the forwarder writes those), otherwise ``None``:
    the client's headers are filtered here, without building a multi-dict.
    """
    values = forwarded_headers(ctx)
    if edited is not None:
        pairs: Any = edited.items()
        drop = _FORWARDER_OWNS
    else:
        pairs = client = ctx.headers
        drop = _HOP_LOWER
        if _CONNECTION in client or _TE in client:  # rare: the general path
            return "".join(_merge(_client_pairs(client), values))
        pairs = client.items()
    lines = []
    for name, value in pairs:
        lname = name.lower()
        if lname in drop:
            continue
        if lname in _FORWARDED_LOWER:  # one of ours is there already: the general merge
            return "".join(_merge(edited.items() if edited is not None else _client_pairs(client), values))
        lines.append(f"{name}: {value}\r\n")
    lines.append(_forwarded_block(values))
    return "".join(lines)


def build_request_head(method: str, target: str, host: str, lines: str, framing: str) -> bytes:
    """The request line and headers as bytes; ``lines`` from :func:`upstream_header_lines`,
    ``framing`` the Content-Length/Transfer-Encoding line (or "")."""
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{lines}Connection: keep-alive\r\n{framing}\r\n"
    return head.encode("utf-8", "surrogateescape")


_RESPONSE_DROP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"te", b"trailer"}
)
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"close", b"Keep-Alive", b"Close"})


def filter_response_headers(raw: list[tuple[bytes, bytes]], client_te: str | None) -> CIMultiDict[str]:
    """The upstream's response headers without hop-by-hop ones (Content-Length is kept).

    ``Trailer`` is kept when the client asked for trailers (``client_te``); headers
    named in ``Connection`` are removed too.
    """
    named: set[str] | None = None
    pairs = []
    for k, v in raw:
        lname = k.lower()
        if lname in _RESPONSE_DROP:
            if lname == b"connection" and v not in _PLAIN_CONNECTION:
                for tok in v.decode("latin-1").split(","):
                    tok = tok.strip().lower()
                    if tok and tok not in _CONNECTION_KEEP:
                        named = named or set()
                        named.add(tok)
            elif lname == b"trailer" and client_te and "trailers" in client_te.lower():
                pairs.append((k.decode("latin-1"), v.decode("latin-1")))
            continue
        pairs.append((k.decode("latin-1"), v.decode("latin-1")))
    headers: CIMultiDict[str] = CIMultiDict(pairs)
    if named:
        for name in named:
            headers.popall(name, None)
    return headers


_set_item = CIMultiDict.__setitem__


class PresetHeaders(CIMultiDict[str]):
    """The response headers plugins set before the upstream answered (rewrite, access).

    A multi-dict that remembers which names were *set* (``kong.response.set_header``,
    ``set_headers``, ``clear_header``: item assignment or ``popall``) rather than only
    *added* (``add_header``: ``add``), so :func:`merge_preset` can apply Kong's rules to
    the upstream's headers: a set name replaces the upstream's lines of that name, an
    added line is one more line next to the upstream's (several ``Set-Cookie`` lines stay
    separate lines).
    """

    #: lower-case names set (not only added); a set made on the first set
    replaced: frozenset[str] | set[str] = frozenset()

    def __setitem__(self, name: str, value: str) -> None:
        replaced = self.replaced  # (what _mark does, inline: the hot path of set_header)
        if not replaced:
            replaced = self.replaced = set()
        replaced.add(name.lower())  # type: ignore[union-attr]
        _set_item(self, name, value)

    def popall(self, name: str, *default: Any) -> Any:  # type: ignore[override]
        self._mark(name)
        return super().popall(name, *default)

    def _mark(self, name: str) -> None:
        replaced = self.replaced
        if not replaced:
            replaced = self.replaced = set()
        replaced.add(name.lower())  # type: ignore[union-attr]


def replaced_names(preset: CIMultiDict[str]) -> set[str]:
    """The lower-case names of ``preset`` that replace the upstream's headers.

    Only names that still have a line count (a header set then cleared leaves the
    upstream's alone).  A plain multi-dict (not a :class:`PresetHeaders`, e.g. rebuilt
    from an isolated plugin's journal) carries no record: all its names replace.
    """
    if isinstance(preset, PresetHeaders):
        replaced = preset.replaced  # few names: look each up (case-insensitive)
        return {name for name in replaced if name in preset} if replaced else set()
    return {name.lower() for name in preset}


def merge_preset(headers: CIMultiDict[str], preset: CIMultiDict[str]) -> None:
    """Merge the headers plugins set in access into the upstream's ``headers``, in place:
    a set name replaces the upstream's lines, added lines come after the upstream's."""
    for name in replaced_names(preset):
        headers.popall(name, None)
    headers.extend(preset)
