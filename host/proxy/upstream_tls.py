"""TLS towards upstreams, with a service's options (Kong's ``kong/runloop/upstream_ssl.lua``).

A service with ``protocol: https`` connects with TLS.  Its fields decide how:

* ``tls_verify``: verify the upstream's certificate and host name.  Unset, the
  ``nginx_proxy_proxy_ssl_verify`` setting decides, off by default (nginx's default
  ``proxy_ssl_verify off``, which Kong keeps).
* ``tls_verify_depth``: the most intermediate certificates accepted between the
  upstream's certificate and a trusted one; unset, nginx's default of 1.  Python's
  ``ssl`` has no depth setting, so the verified chain is counted after the handshake.
* ``ca_certificates``: ids of CA certificate entities, the only CAs trusted when
  set.  Unset, the system's CAs are trusted (Kong trusts none then, so its handshakes
  fail when verifying; Moongate's choice is documented in ``sdk-docs/guide.md``).
* ``client_certificate``: a certificate entity presented to the upstream (mutual
  TLS); the upstream entity's ``client_certificate`` when the service has none.

The server name (SNI) is the ``Host`` sent upstream without its port, as nginx's
``proxy_ssl_name $upstream_host`` in Kong's template; none is sent for an IP.

One :class:`ssl.SSLContext` per distinct set of options, cached by content; the
options of a (service, upstream) are resolved once per configuration snapshot, never
per request.  :func:`load_pem_pair` (PEM text into a context) also serves the
listeners (:mod:`host.proxy.tls`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import ssl
import tempfile
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["TLSOptions", "UpstreamTLS", "load_pem_pair", "sni_of", "chain_too_long", "NGINX_VERIFY_DEPTH"]

log = logging.getLogger("moongate.proxy")

#: nginx's default ``proxy_ssl_verify_depth``
NGINX_VERIFY_DEPTH = 1
_MAX_CONTEXTS = 256


@dataclass(frozen=True, slots=True, eq=False)
class TLSOptions:
    """How to open a TLS connection to an upstream: the context and what pools it."""

    context: ssl.SSLContext
    #: what distinguishes connections made with these options in the pool
    key: Hashable
    #: the longest verified chain accepted (intermediates), None when not verifying
    verify_depth: int | None = None


def load_pem_pair(context: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """``context.load_cert_chain`` for PEM text.

    Python's ``ssl`` loads certificates from files only: the pair is written to a file
    readable by this user alone (0600, in a private 0700 directory) and deleted as soon
    as it is loaded.  Raises :class:`ssl.SSLError` when the PEM is not a valid pair.
    """
    with tempfile.TemporaryDirectory(prefix="moongate-tls-") as folder:
        path = os.path.join(folder, "pair.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(cert_pem.strip() + "\n" + key_pem.strip() + "\n")
        context.load_cert_chain(path)


def sni_of(host_header: str) -> str:
    """The server name for a ``Host`` value: without the port (an IPv6 literal unbracketed)."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.partition(":")[0]


def chain_too_long(ssl_object: Any, depth: int) -> str | None:
    """Why a verified chain exceeds ``depth`` intermediate certificates, or None.

    The verified chain runs from the peer's certificate to the trusted one; what lies
    between counts against the depth (OpenSSL's ``verify_depth`` semantics).
    """
    getter = getattr(ssl_object, "get_verified_chain", None)  # public from Python 3.13
    if getter is None:
        inner = getattr(ssl_object, "_sslobj", None)
        getter = getattr(inner, "get_verified_chain", None)
    if getter is None:  # pragma: no cover - every supported Python has one of the two
        return None
    chain = getter() or []
    intermediates = max(0, len(chain) - 2)
    if intermediates > depth:
        return f"certificate chain too long: {intermediates} intermediate certificate(s), tls_verify_depth is {depth}"
    return None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _fk_id(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


class UpstreamTLS:
    """The TLS options of upstream connections, resolved per (service, upstream)."""

    def __init__(self) -> None:
        self._contexts: dict[Hashable, TLSOptions] = {}
        self._snapshot: Any = None
        self._resolved: dict[tuple[str | None, str | None], TLSOptions] = {}

    def options_for(self, ctx: Context) -> TLSOptions:
        """The options for the request's service and upstream (cached per snapshot)."""
        snapshot = ctx.snapshot
        if snapshot is not self._snapshot:  # a reload: entities may have changed
            self._snapshot = snapshot
            self._resolved = {}
        service = ctx.service
        key = (service["id"] if service else None, ctx.upstream_name)
        options = self._resolved.get(key)
        if options is None:
            options = self._resolved[key] = self._resolve(ctx, service)
        return options

    def _resolve(self, ctx: Context, service: dict[str, Any] | None) -> TLSOptions:
        service = service or {}
        config = ctx.snapshot.config if ctx.snapshot is not None else None
        verify = service.get("tls_verify")
        if verify is None:
            verify = bool(getattr(ctx.settings, "nginx_proxy_proxy_ssl_verify", False))
        depth = service.get("tls_verify_depth")
        if depth is None:
            depth = NGINX_VERIFY_DEPTH
        cas: str | None = None
        ca_ids = service.get("ca_certificates")
        if ca_ids is not None:
            known = {c["id"]: c["cert"] for c in (config.ca_certificates if config else ())}
            found = []
            for ca_id in ca_ids:
                if ca_id in known:
                    found.append(known[ca_id])
                else:
                    log.critical(
                        "unable to get upstream TLS CA store, err: CA Certificate '%s' does not exist", ca_id
                    )
            cas = "\n".join(found)
        pair = self._client_pair(ctx, service, config)
        key = (
            bool(verify),
            depth if verify else None,
            None if cas is None else _digest(cas),
            None if pair is None else _digest(*pair),
        )
        options = self._contexts.get(key)
        if options is None:
            if len(self._contexts) >= _MAX_CONTEXTS:
                self._contexts.clear()
            context = _client_context(bool(verify), cas, pair)
            options = self._contexts[key] = TLSOptions(context, key, depth if verify else None)
        return options

    @staticmethod
    def _client_pair(ctx: Context, service: dict[str, Any], config: Any) -> tuple[str, str] | None:
        cert_id = _fk_id(service.get("client_certificate"))
        if cert_id is None and ctx.upstream_name is not None and ctx.snapshot is not None:
            upstream = ctx.snapshot.upstreams.get(ctx.upstream_name) or {}
            cert_id = _fk_id(upstream.get("client_certificate"))
        if cert_id is None:
            return None
        for cert in config.certificates if config else ():
            if cert["id"] == cert_id:
                return cert["cert"], cert["key"]
        log.error(
            "unable to fetch upstream client TLS certificate %s: certificate %s not found", cert_id, cert_id
        )
        return None


def _client_context(verify: bool, cas: str | None, pair: tuple[str, str] | None) -> ssl.SSLContext:
    if verify and cas is None:
        context = ssl.create_default_context()
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify:
            if cas:
                context.load_verify_locations(cadata=cas)
        else:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    if pair is not None:
        try:
            load_pem_pair(context, *pair)
        except (ssl.SSLError, ValueError) as exc:
            log.error("unable to apply upstream client TLS certificate: %s", exc)
    return context
