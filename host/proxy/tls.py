"""HTTPS proxy listeners: Kong's listen syntax, certificates chosen by SNI, the certificate phase.

``proxy_listen`` is a comma-separated list of ``HOST:PORT [flag]...`` entries
(:func:`parse_listeners`); each ``ssl`` entry is served by a :class:`TLSTerminator`:

* **The default certificate** comes from ``ssl_cert``/``ssl_cert_key`` (files; a list
  may pair an RSA and an ECDSA certificate), else a self-signed one for ``localhost``
  made once per process and kept in memory, as Kong's ``default`` certificate.
* **Per handshake** (Python's SNI callback), as Kong's ``kong/runloop/certificate.lua``:
  the SNI entity named exactly like the server name, else ``*.rest`` (first label
  replaced), else ``name.*`` (last label replaced), else the ``*`` SNI, else the default
  certificate; without SNI, the default.  The index follows the running snapshot, so
  handshakes after a reload use its certificates; an SSL context per certificate
  (``cert`` plus ``cert_alt`` when present) is built on first use and kept while the
  configuration holds that certificate.  A certificate that cannot be loaded aborts
  the handshake, as in Kong.
* **The certificate phase**: then the ``certificate`` handlers of global plugins run,
  synchronously, inside the handshake (:class:`CertificatePhase`).
* **Each request** on a TLS connection gets the connection's facts on its context
  (:class:`TLSProxyHandler`): ``kong.client.tls``, ``ngx.ssl`` and the log
  serializer's ``request.tls`` read them.

The TLS layer is asyncio's ``SSLProtocol`` over a plain TCP server, subclassed to know
the peer before the handshake (the SNI callback gets only the SSL object): uvloop's
own TLS transport hides the connection until the handshake is over.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
import ssl
import weakref
from asyncio import sslproto
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from host.context import Context, reset_context, use_context
from host.proxy.handler import ProxyHandler
from host.proxy.http_errors import ProxyServer
from host.proxy.upstream_tls import load_pem_pair
from host.settings import parse_listen
from pdk.client_tls import CONNECTION_KEY, SERIALIZED_KEY
from pdk.errors import ExitSignal
from pdk.phases import Phase

if TYPE_CHECKING:  # pragma: no cover
    from host.config.snapshot import Snapshot
    from host.settings import Settings

__all__ = ["Listener", "parse_listeners", "TLSConnection", "TLSProxyHandler", "TLSTerminator"]

log = logging.getLogger("moongate.tls")


# -- proxy_listen --------------------------------------------------------------------------
@dataclass(frozen=True)
class Listener:
    """One ``proxy_listen`` entry."""

    host: str
    port: int
    ssl: bool = False
    backlog: int = 16384


#: flags Moongate accepts without acting on them (an info line says why)
_ACCEPTED_FLAGS = {
    "http2": "aiohttp serves HTTP/1.1 only (ALPN offers http/1.1)",
    "reuseport": "Moongate's listeners always set SO_REUSEPORT where the system has it",
}


def parse_listeners(value: str) -> list[Listener]:
    """Kong's ``proxy_listen`` syntax: ``HOST:PORT [ssl] [http2] [reuseport] [backlog=N] ...``,
    comma-separated; ``off`` for none.  Flags Moongate does not implement are logged
    and ignored; a malformed address raises ValueError."""
    if value.strip() == "off":
        return []
    listeners = []
    for entry in value.split(","):
        words = entry.split()
        if not words:
            continue
        address = "0.0.0.0" + words[0][1:] if words[0].startswith("*:") else words[0]
        host, port = parse_listen(address)
        tls, backlog = False, 16384
        for flag in words[1:]:
            name, _, arg = flag.partition("=")
            if name == "ssl":
                tls = True
            elif name == "backlog" and arg.isdigit():
                backlog = int(arg)
            elif name in _ACCEPTED_FLAGS:
                log.info("proxy_listen %s: flag '%s' accepted: %s", words[0], name, _ACCEPTED_FLAGS[name])
            else:
                log.warning(
                    "proxy_listen %s: flag '%s' is not supported by Moongate: ignored", words[0], flag
                )
        listeners.append(Listener(host, port, tls, backlog))
    return listeners


# -- SSL contexts -------------------------------------------------------------------------
_INTERMEDIATE = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
)
_OLD_EXTRA = (
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:"
    "DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384:"
    "AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA"
)
#: ssl_cipher_suite -> (protocols, OpenSSL cipher list, prefer the server's order)
_SUITES: dict[str, tuple[str, str | None, bool]] = {
    "modern": ("TLSv1.3", None, False),
    "intermediate": ("TLSv1.2 TLSv1.3", _INTERMEDIATE, False),
    "old": ("TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", f"{_INTERMEDIATE}:{_OLD_EXTRA}:@SECLEVEL=0", True),
}
_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def server_context(settings: Settings, pairs: list[tuple[str, str]]) -> ssl.SSLContext:
    """A server context with the settings' protocols and ciphers and the given
    (certificate, key) PEM pairs (an RSA and an ECDSA one may go together).

    The protocols set the lowest and highest version allowed (a gap in the list, such
    as ``TLSv1 TLSv1.2``, cannot be expressed with Python's ``ssl``)."""
    suite = settings.ssl_cipher_suite
    if suite == "custom":
        protocols, ciphers, prefer = settings.ssl_protocols, settings.ssl_ciphers, True
    elif suite in _SUITES:
        protocols, ciphers, prefer = _SUITES[suite]
    else:
        raise ValueError(
            f"ssl_cipher_suite: {suite!r} is not supported (modern, intermediate, old or custom)"
        )
    try:
        versions = sorted(_VERSIONS[p] for p in protocols.split())
    except KeyError as exc:
        raise ValueError(f"ssl_protocols: unknown protocol {exc.args[0]}") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version, context.maximum_version = versions[0], versions[-1]
    if ciphers:
        context.set_ciphers(ciphers)
    if not prefer:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_alpn_protocols(["http/1.1"])
    for cert, key in pairs:
        load_pem_pair(context, cert, key)
    return context


_DEFAULT_PAIRS: list[tuple[str, str]] = []


def default_pairs(settings: Settings) -> list[tuple[str, str]]:
    """The default certificate: ``ssl_cert``/``ssl_cert_key`` files, else a self-signed
    RSA and ECDSA pair for ``localhost`` (made once per process, in memory only)."""
    if settings.ssl_cert:
        if len(settings.ssl_cert) != len(settings.ssl_cert_key):
            raise ValueError("ssl_cert and ssl_cert_key must have the same number of entries")
        pairs = []
        for cert_file, key_file in zip(settings.ssl_cert, settings.ssl_cert_key, strict=True):
            try:
                with open(cert_file, encoding="utf-8") as cert, open(key_file, encoding="utf-8") as key:
                    pairs.append((cert.read(), key.read()))
            except OSError as exc:
                raise ValueError(f"ssl_cert: cannot read {exc.filename}: {exc.strerror}") from None
        return pairs
    if not _DEFAULT_PAIRS:
        _DEFAULT_PAIRS.extend(_self_signed(kind) for kind in ("rsa", "ecdsa"))
        log.info("no ssl_cert: serving a self-signed default certificate for localhost")
    return list(_DEFAULT_PAIRS)


def _self_signed(kind: str) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Moongate"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


# -- certificates by SNI ------------------------------------------------------------------
_PREFIX_WILD = re.compile(r"[^.]+(\.[^.]+\.\S+)")
_SUFFIX_WILD = re.compile(r"([^.]+\.)[^.]+$")


def sni_candidates(server_name: str) -> list[str]:
    """The SNI entity names tried for a server name, in Kong's order."""
    names = [server_name]
    star = server_name.find("*")
    if star == 0:
        names.append(server_name)
    elif star == -1 and (m := _PREFIX_WILD.match(server_name)):
        names.append("*" + m.group(1))
    if star == len(server_name) - 1:
        names.append(server_name)
    elif star == -1 and (m := _SUFFIX_WILD.search(server_name)):
        names.append(server_name[: m.start()] + m.group(1) + "*")
    names.append("*")
    return names


class CertificateStore:
    """The certificates of one snapshot, indexed by SNI name; SSL contexts on demand."""

    def __init__(
        self, snapshot: Snapshot, settings: Settings, contexts: dict[tuple[str, ...], ssl.SSLContext]
    ):
        config = snapshot.config
        certificates = {c["id"]: c for c in config.certificates}
        self._by_name: dict[str, dict[str, Any]] = {}
        for sni in config.snis:
            cert = certificates.get((sni.get("certificate") or {}).get("id"))
            if cert is not None:
                self._by_name[sni["name"].lower()] = cert
        self._settings = settings
        wanted = {self._content(c) for c in self._by_name.values()}
        for content in list(contexts):  # forget certificates the configuration dropped
            if content not in wanted:
                del contexts[content]
        self._contexts = contexts

    @staticmethod
    def _content(cert: dict[str, Any]) -> tuple[str, ...]:
        return (cert["cert"], cert["key"], cert.get("cert_alt") or "", cert.get("key_alt") or "")

    def context_for(self, server_name: str | None) -> ssl.SSLContext | None:
        """The context serving ``server_name``; None for the default certificate.
        Raises ValueError when the chosen certificate cannot be loaded."""
        if server_name is None or not self._by_name:
            return None
        by_name = self._by_name
        for name in sni_candidates(server_name.lower()):
            cert = by_name.get(name)
            if cert is not None:
                return self._context(cert)
        return None

    def _context(self, cert: dict[str, Any]) -> ssl.SSLContext:
        content = self._content(cert)
        context = self._contexts.get(content)
        if context is None:
            pairs = [(content[0], content[1])]
            if content[2] and content[3]:
                pairs.append((content[2], content[3]))
            try:
                context = server_context(self._settings, pairs)
            except (ssl.SSLError, ValueError) as exc:
                raise ValueError(f"could not load certificate {cert['id']}: {exc}") from None
            self._contexts[content] = context
        return context


# -- the certificate phase -----------------------------------------------------------------
class CertificatePhase:
    """The ``certificate`` handlers of global plugins, run inside the TLS handshake.

    The handshake is synchronous (Python's SNI callback), so the handlers are too: a
    handler that returns an awaitable must be finished after one step (an ``async
    def`` or a Lua handler that did no I/O); one that waits for I/O is an error.  An
    error aborts the handshake (the client gets an ``internal_error`` alert) and is
    logged with the plugin and the peer; the gateway goes on serving.
    """

    def __init__(self, settings: Settings, kong: Any) -> None:
        self.settings = settings
        self.kong = kong

    def run(self, snapshot: Snapshot, conn: TLSConnection) -> bool:
        """Run the handlers for one handshake; False when one failed."""
        calls = snapshot.plugins.global_plugins.calls.get("certificate")
        if not calls:
            return True
        ctx = Context(snapshot, self.settings)
        ctx.phase = Phase.certificate
        ctx.scheme = "https"
        ctx.peer_ip = ctx.client_ip = conn.peer_ip
        ctx.peer_port = conn.peer_port
        ctx.port = conn.local_port
        ctx.host = conn.server_name or ""
        ctx.extra[CONNECTION_KEY] = conn
        token = use_context(ctx)
        name = ""
        try:
            for fn, is_async, conf, name, plugin_id in calls:
                ctx.plugin_name, ctx.plugin_id = name, plugin_id
                result = fn(self.kong, conf)
                if is_async and result is not None:
                    _finished_at_once(result)
        except ExitSignal:  # ngx.exit(): no further handler runs, the handshake goes on
            return True
        except Exception as exc:  # noqa: BLE001 - contained: only this handshake fails
            log.error(
                "plugin '%s' failed in certificate: %s; TLS handshake from %s aborted",
                name,
                exc,
                conn.peer_ip,
                extra={"plugin": name, "phase": "certificate"},
            )
            return False
        finally:
            reset_context(token)
        return True


def _finished_at_once(result: Any) -> None:
    """Complete what an async handler returned, or raise: the handshake cannot wait."""
    if asyncio.iscoroutine(result):
        try:
            result.send(None)
        except StopIteration:
            return
        result.close()
    elif isinstance(result, asyncio.Future) and result.done():
        result.result()
        return
    raise RuntimeError(
        "the handler waited for I/O, which the certificate phase cannot do (it runs inside the TLS handshake)"
    )


# -- connections ----------------------------------------------------------------------------
class TLSConnection:
    """What the proxy knows of one client TLS connection (for the PDK and ngx.ssl)."""

    __slots__ = ("peer_ip", "peer_port", "local_ip", "local_port", "server_name", "_ssl")

    def __init__(self, peer: tuple[Any, ...], local: tuple[Any, ...], ssl_object: Any) -> None:
        self.peer_ip, self.peer_port = (peer[0], peer[1]) if peer else ("", 0)
        self.local_ip, self.local_port = (local[0], local[1]) if local else ("", 0)
        self.server_name: str | None = None
        self._ssl = weakref.ref(ssl_object)

    def negotiated(self) -> tuple[str | None, str | None]:
        """(protocol version, cipher name) once the handshake is over, else (None, None)."""
        obj = self._ssl()
        if obj is None:
            return None, None
        cipher = obj.cipher()
        return obj.version(), cipher[0] if cipher else None

    def peer_chain(self) -> list[str]:
        """The client's certificate chain as PEM texts (empty: none presented)."""
        obj = self._ssl()
        if obj is None or obj.getpeercert(binary_form=True) is None:
            return []
        getter = getattr(obj, "get_unverified_chain", None) or obj._sslobj.get_unverified_chain
        return [cert.public_bytes() for cert in getter() or ()]


#: the SSL object of each live connection -> its TLSConnection
_CONNECTIONS: weakref.WeakKeyDictionary[Any, TLSConnection] = weakref.WeakKeyDictionary()


class _ServerTLSProtocol(sslproto.SSLProtocol):
    """asyncio's TLS protocol, registering the connection before the handshake starts."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        _CONNECTIONS[self._sslobj] = TLSConnection(peer, local, self._sslobj)
        super().connection_made(transport)  # type: ignore[arg-type]

    def _on_handshake_complete(self, handshake_exc: BaseException | None) -> None:
        if handshake_exc is not None:  # send the alert before the connection is dropped
            self._process_outgoing()
        super()._on_handshake_complete(handshake_exc)


class TLSProxyHandler(ProxyHandler):
    """The proxy handler of the TLS listeners: the plain handler's snapshot, client and
    log tasks, plus the connection's TLS facts on every request context."""

    def __init__(self, plain: ProxyHandler) -> None:
        self._plain = plain
        super().__init__(plain.snapshot, plain.settings, plain.client, plain.runner)
        self.log_tasks = plain.log_tasks  # one set: Gateway.stop waits for all of them

    @property  # type: ignore[override]
    def snapshot(self) -> Snapshot:
        """The plain handler's, which a reload replaces."""
        return self._plain.snapshot

    @snapshot.setter
    def snapshot(self, value: Snapshot) -> None:
        self._plain.snapshot = value

    def _context(self, request: web.BaseRequest) -> Any:
        ctx = super()._context(request)
        transport = request.transport
        conn = _CONNECTIONS.get(transport.get_extra_info("ssl_object")) if transport is not None else None
        if conn is not None:
            version, cipher = conn.negotiated()
            ctx.extra[CONNECTION_KEY] = conn
            ctx.extra[SERIALIZED_KEY] = {"version": version, "cipher": cipher, "client_verify": "NONE"}
        return ctx


class TLSTerminator:
    """Everything the ``ssl`` listeners share: contexts, the SNI callback, the server."""

    def __init__(self, settings: Settings, plain: ProxyHandler, kong: Any, **server_options: Any) -> None:
        self.settings = settings
        self.handler = TLSProxyHandler(plain)
        self.server = ProxyServer(self.handler, **server_options)
        try:
            self.context = server_context(settings, default_pairs(settings))
        except ssl.SSLError as exc:
            raise ValueError(f"ssl_cert: could not load the default certificate: {exc}") from None
        self.context.sni_callback = self._on_server_name
        self.phase = CertificatePhase(settings, kong)
        self._contexts: dict[tuple[str, ...], ssl.SSLContext] = {}
        self._store: CertificateStore | None = None
        self._store_of: Snapshot | None = None

    def protocol(self) -> asyncio.BaseProtocol:
        """The protocol factory for ``loop.create_server``: TLS, then aiohttp's HTTP/1.1."""
        return _ServerTLSProtocol(
            asyncio.get_running_loop(), self.server(), self.context, None, server_side=True
        )

    def store(self, snapshot: Snapshot) -> CertificateStore:
        """The certificate index of ``snapshot`` (rebuilt when the snapshot changes)."""
        if snapshot is not self._store_of or self._store is None:
            self._store = CertificateStore(snapshot, self.settings, self._contexts)
            self._store_of = snapshot
        return self._store

    def _on_server_name(
        self, ssl_object: Any, server_name: str | None, _initial: ssl.SSLContext
    ) -> int | None:
        """Python's SNI callback: pick the certificate, then run the certificate phase.
        Returns an alert (the handshake fails) when either fails."""
        conn = _CONNECTIONS.get(ssl_object)
        if conn is None:  # pragma: no cover - every connection comes through _ServerTLSProtocol
            conn = _CONNECTIONS[ssl_object] = TLSConnection((), (), ssl_object)
        conn.server_name = server_name
        snapshot = self.handler.snapshot
        try:
            chosen = self.store(snapshot).context_for(server_name)
            if chosen is not None:
                ssl_object.context = chosen
        except ValueError as exc:
            log.error("[ssl] %s; TLS handshake from %s aborted", exc, conn.peer_ip)
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        except Exception:  # noqa: BLE001 - an exception here would only reach stderr
            log.exception("[ssl] choosing a certificate failed; TLS handshake from %s aborted", conn.peer_ip)
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        if not self.phase.run(snapshot, conn):
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None

    async def shutdown(self, grace: float) -> None:
        """Close idle keep-alive connections, let requests finish (up to ``grace`` s)."""
        self.server.pre_shutdown()
        await self.server.shutdown(grace)
