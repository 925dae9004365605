"""Active health checks: one probe, and the loop that probes an upstream's targets.

A probe (lua-resty-healthcheck's ``run_single_check``) connects to the target within
``healthchecks.active.timeout`` seconds; ``tcp`` checks (and ``grpc``/``grpcs``, which
Moongate checks at the TCP/TLS level) count the connection as a success.  ``http``
and ``https`` checks send ``GET <http_path>`` with the configured ``headers`` and judge
the status line: a status in ``healthy.http_statuses`` is a success, one in
``unhealthy.http_statuses`` (or no valid status) an HTTP failure, others are ignored.
A refused or reset connection is a TCP failure, an expired ``timeout`` a timeout.

Healthy targets are probed every ``healthy.interval`` seconds and unhealthy ones every
``unhealthy.interval`` (0: not probed in that state), at most ``concurrency`` at once.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.balancer.health import UpstreamEntry
    from host.balancer.state import TargetState

__all__ = ["probe", "probe_loop"]

log = logging.getLogger("moongate.balancer")

#: the loop wakes at least this often to notice state changes made by passive checks
_MAX_SLEEP = 0.5
_ssl_contexts: dict[bool, ssl.SSLContext] = {}


def _ssl_context(verify: bool) -> ssl.SSLContext:
    context = _ssl_contexts.get(verify)
    if context is None:
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        _ssl_contexts[verify] = context
    return context


def _request(active: dict[str, Any], host_header: str) -> bytes:
    lines = [f"GET {active.get('http_path') or '/'} HTTP/1.0", f"Host: {host_header}"]
    for name, values in (active.get("headers") or {}).items():
        if name.lower() == "host":
            lines[1] = f"Host: {values[0] if isinstance(values, list) else values}"
            continue
        for value in values if isinstance(values, list) else [values]:
            lines.append(f"{name}: {value}")
    lines.append("User-Agent: moongate-healthcheck")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def probe(state: TargetState, active: dict[str, Any], host_header: str) -> None:
    """Probe one target once and report the outcome to its state."""
    kind = active.get("type") or "http"
    timeout = float(active.get("timeout") or 0) or None
    tls = kind in ("https", "grpcs")
    context = _ssl_context(bool(active.get("https_verify_certificate", True))) if tls else None
    sni = (active.get("https_sni") or host_header.rsplit(":", 1)[0]) if tls else None
    writer = None
    try:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    state.host, state.port, ssl=context, server_hostname=sni
                )
        except TimeoutError:
            state.report_timeout("active")
            return
        except (OSError, ssl.SSLError):
            state.report_tcp_failure("active")
            return
        if kind not in ("http", "https"):
            state.report_success("active")
            return
        try:
            async with asyncio.timeout(timeout):
                writer.write(_request(active, host_header))
                await writer.drain()
                line = await reader.readline()
        except TimeoutError:
            state.report_timeout("active")
            return
        except (OSError, ssl.SSLError):
            state.report_tcp_failure("active")
            return
        parts = line.split(None, 2)
        status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0
        state.report_status(status, "active")
    finally:
        if writer is not None:
            writer.close()


async def probe_loop(entry: UpstreamEntry) -> None:
    """Probe the entry's targets for as long as the task runs (cancelled on removal)."""
    while True:
        checks = entry.checks
        active = checks.active
        healthy_every = float((active.get("healthy") or {}).get("interval") or 0)
        unhealthy_every = float((active.get("unhealthy") or {}).get("interval") or 0)
        now = time.monotonic()
        due: list[TargetState] = []
        wake = now + _MAX_SLEEP
        for state in list(entry.states.values()):
            every = healthy_every if state.healthy else unhealthy_every
            if not every:
                continue
            if state.next_probe <= now:
                due.append(state)
                state.next_probe = now + every
            wake = min(wake, state.next_probe)
        if due:
            limit = asyncio.Semaphore(int(active.get("concurrency") or 10))
            host_header = entry.upstream.get("host_header")
            await asyncio.gather(*(_guarded(s, active, host_header, limit) for s in due))
        await asyncio.sleep(max(0.01, wake - time.monotonic()))


async def _guarded(
    state: TargetState, active: dict[str, Any], host_header: str | None, limit: asyncio.Semaphore
) -> None:
    async with limit:
        try:
            await probe(state, active, host_header or _host_header(state))
        except Exception:  # noqa: BLE001 - a probe never ends the loop
            log.exception("health probe of %s:%s failed", state.host, state.port)


def _host_header(state: TargetState) -> str:
    host = f"[{state.host}]" if ":" in state.host else state.host
    return f"{host}:{state.port}"
