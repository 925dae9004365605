"""Header rules of the proxy: hop-by-hop removal, forwarded headers, Kong's response headers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from multidict import CIMultiDict, istr

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "upstream_request_headers",
    "build_request_head",
    "filter_response_headers",
    "add_forwarded_headers",
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
_CONNECTION_KEEP = frozenset({"close", "keep-alive", "upgrade"})

X_FORWARDED = (
    istr("X-Forwarded-For"),
    istr("X-Forwarded-Proto"),
    istr("X-Forwarded-Host"),
    istr("X-Forwarded-Port"),
    istr("X-Forwarded-Path"),
    istr("X-Forwarded-Prefix"),
)


def _connection_tokens(headers: CIMultiDict[str] | object) -> set[str]:
    tokens: set[str] = set()
    for value in headers.getall("Connection", ()):  # type: ignore[attr-defined]
        for tok in value.split(","):
            tok = tok.strip().lower()
            if tok and tok not in _CONNECTION_KEEP:
                tokens.add(tok)
    return tokens


def upstream_request_headers(client_headers: CIMultiDict[str] | object) -> CIMultiDict[str]:
    """A copy of the client's headers without hop-by-hop headers (what plugins edit)."""
    headers: CIMultiDict[str] = CIMultiDict(client_headers)  # type: ignore[arg-type]
    named = _connection_tokens(client_headers)
    for name in HOP_BY_HOP:
        if name in headers:
            del headers[name]
    for name in named:
        headers.popall(name, None)
    te = client_headers.get("TE")  # type: ignore[attr-defined]
    if te and "trailers" in te.lower():
        headers["TE"] = "trailers"
    return headers


def add_forwarded_headers(ctx: Context, headers: CIMultiDict[str]) -> None:
    """X-Forwarded-*, X-Real-IP, Via and the request id, as Kong sets them upstream."""
    client = ctx.headers
    settings = ctx.settings
    trusted = settings is not None and settings.is_trusted(ctx.peer_ip)
    xff = client.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{xff}, {ctx.peer_ip}" if xff else ctx.client_ip
    headers["X-Forwarded-Proto"] = (trusted and client.get("X-Forwarded-Proto")) or ctx.scheme
    headers["X-Forwarded-Host"] = (trusted and client.get("X-Forwarded-Host")) or ctx.host
    headers["X-Forwarded-Port"] = (trusted and client.get("X-Forwarded-Port")) or str(ctx.port)
    headers["X-Forwarded-Path"] = (trusted and client.get("X-Forwarded-Path")) or ctx.raw_path
    prefix = (trusted and client.get("X-Forwarded-Prefix")) or ctx.stripped_prefix
    if prefix:
        headers["X-Forwarded-Prefix"] = prefix
    else:
        headers.popall("X-Forwarded-Prefix", None)
    headers["X-Real-IP"] = ctx.client_ip
    token = settings.server_token if settings is not None else "moongate"
    version = "1.0" if ctx.http_version == 1.0 else ("2" if ctx.http_version >= 2 else "1.1")
    via = client.get("Via")
    headers["Via"] = f"{via}, {version} {token}" if via else f"{version} {token}"
    if settings is None or "x-kong-request-id" in settings.headers_upstream:
        headers["X-Kong-Request-Id"] = ctx.request_id


def build_request_head(method: str, target: str, host: str, headers: CIMultiDict[str], framing: str) -> bytes:
    """The request line and headers as bytes; ``framing`` is the Content-Length/TE line.

    ``host`` is the Host header to send; a Host left in ``headers`` is not sent twice.
    """
    items = headers.items()
    if "Host" in headers:
        items = [(n, v) for n, v in items if n.lower() != "host"]  # type: ignore[assignment]
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in items]
    lines.append("Connection: keep-alive\r\n")
    lines.append(framing)
    lines.append("\r\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


_RESPONSE_DROP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"te"}
)


def filter_response_headers(raw: list[tuple[bytes, bytes]], client_te: str | None) -> CIMultiDict[str]:
    """The upstream's response headers without hop-by-hop ones (Content-Length is kept)."""
    named: set[str] | None = None
    keep_trailer = bool(client_te) and "trailers" in client_te.lower()  # type: ignore[union-attr]
    pairs = []
    for k, v in raw:
        lname = k.lower()
        if lname in _RESPONSE_DROP or (lname == b"trailer" and not keep_trailer):
            if lname == b"connection":
                for tok in v.decode("latin-1").split(","):
                    tok = tok.strip().lower()
                    if tok and tok not in _CONNECTION_KEEP:
                        named = named or set()
                        named.add(tok)
            continue
        pairs.append((k.decode("latin-1"), v.decode("latin-1")))
    headers: CIMultiDict[str] = CIMultiDict(pairs)
    if named:
        for name in named:
            headers.popall(name, None)
    return headers
