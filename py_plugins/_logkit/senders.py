"""TCP and UDP senders for tcp-log, udp-log and syslog: the log handler never waits.

* :class:`TcpSender` (one per event loop and destination): a bounded buffer and one
  task that writes the entries in order over one connection, reused while it is used
  at least every ``keepalive`` milliseconds, with ``timeout`` for connect, TLS
  handshake and each write.  Kong opens a timer per entry and pools the sockets;
  one writer per destination keeps the order and bounds the memory.  A failure is
  logged (at most once a minute per destination) and the entry dropped, as in Kong.
* :class:`DatagramSender` (one per event loop and destination): a datagram endpoint,
  made by a task on first use (the host name is resolved there, never on the request
  path); once it is up, ``send`` hands the datagram to the kernel at once.  A
  destination may be ``(host, port)`` (UDP) or a Unix socket path (``/dev/log``).

Drops are counted with the queue's counter (:func:`py_plugins._logkit.queue.count_dropped`:
``kong_log_queue_dropped_total{plugin}`` in ``/metrics``).  :func:`close_senders` (the
plugins' ``shutdown`` host hook) writes what is waiting and closes the sockets.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections import deque
from typing import Any

from py_plugins._logkit.queue import WARNING_INTERVAL, count_dropped, finish_tasks

__all__ = ["TcpSender", "DatagramSender", "tcp_sender", "datagram_sender", "close_senders"]

log = logging.getLogger("moongate.plugin")
#: entries a sender buffers while its connection is down or slow
MAX_PENDING = 10000


class _Warner:
    """Rate-limited error lines of one destination."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self.last = 0.0
        self.suppressed = 0
        count_dropped(plugin, 0)  # its series shows 0 in /metrics

    def error(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last < WARNING_INTERVAL:
            self.suppressed += 1
            return
        more = f" ({self.suppressed} similar errors suppressed)" if self.suppressed else ""
        log.error("[%s] %s%s", self.plugin, message, more, extra={"plugin": self.plugin})
        self.last, self.suppressed = now, 0

    def drop(self, count: int = 1) -> None:
        count_dropped(self.plugin, count)


class TcpSender:
    """Writes newline-terminated entries to one TCP (or TLS) destination."""

    def __init__(self, plugin: str, conf: dict[str, Any]) -> None:
        self.host, self.port = conf["host"], conf["port"]
        self.timeout = conf["timeout"] / 1000
        self.keepalive = conf["keepalive"] / 1000
        self.tls = bool(conf.get("tls"))
        self.sni = conf.get("tls_sni") or None
        self.pending: deque[bytes] = deque()
        self.task: asyncio.Task[None] | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0
        self.warn = _Warner(plugin)

    def send(self, entry: bytes) -> None:
        if len(self.pending) >= MAX_PENDING:
            self.pending.popleft()
            self.warn.drop()
            self.warn.error(f"{MAX_PENDING} entries waiting for {self.host}:{self.port}: dropping the oldest")
        self.pending.append(entry)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _connect(self) -> asyncio.StreamWriter:
        context = None
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # Kong: sslhandshake(false, sni, verify=false)
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(
                self.host,
                self.port,
                ssl=context,
                server_hostname=(self.sni or self.host) if context else None,
            ),
            self.timeout,
        )
        return writer

    async def _run(self) -> None:
        try:
            while self.pending:
                writer = self.writer
                if writer is not None and (
                    writer.is_closing() or time.monotonic() - self.last_used > self.keepalive
                ):
                    writer.close()
                    writer = self.writer = None
                try:
                    if writer is None:
                        writer = self.writer = await self._connect()
                    entry = self.pending.popleft()
                    writer.write(entry + b"\n")
                    await asyncio.wait_for(writer.drain(), self.timeout)
                    self.last_used = time.monotonic()
                except (OSError, TimeoutError, ssl.SSLError) as exc:
                    what = "connect to" if writer is None else "send data to"
                    self.warn.error(f"failed to {what} {self.host}:{self.port}: {exc or type(exc).__name__}")
                    if writer is None and self.pending:
                        self.pending.popleft()
                    self.warn.drop()
                    if self.writer is not None:
                        self.writer.close()
                        self.writer = None
        finally:
            self.task = None


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, sender: DatagramSender) -> None:
        self.sender = sender

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable and the like
        self.sender.warn.error(f"could not send data to {self.sender.label}: {exc}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.sender.transport = None


class DatagramSender:
    """Sends datagrams to ``(host, port)`` over UDP, or to a Unix datagram socket path."""

    def __init__(self, plugin: str, target: tuple[str, int] | str, timeout: float = 10.0) -> None:
        self.target = target
        self.label = target if isinstance(target, str) else f"{target[0]}:{target[1]}"
        self.timeout = timeout
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: deque[bytes] = deque()
        self.task: asyncio.Task[None] | None = None
        self.warn = _Warner(plugin)

    def send(self, datagram: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.sendto(datagram)
            return
        if len(self.pending) >= MAX_PENDING:
            self.pending.popleft()
            self.warn.drop()
        self.pending.append(datagram)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            if isinstance(self.target, str):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.setblocking(False)
                sock.connect(self.target)
                coro = loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
            else:
                coro = loop.create_datagram_endpoint(lambda: _Protocol(self), remote_addr=self.target)
            transport, _ = await asyncio.wait_for(coro, self.timeout)
        except (OSError, TimeoutError) as exc:
            self.warn.error(f"could not connect to {self.label}: {exc or type(exc).__name__}")
            self.warn.drop(len(self.pending))
            self.pending.clear()
            return
        finally:
            self.task = None
        self.transport = transport  # type: ignore[assignment]
        while self.pending:
            transport.sendto(self.pending.popleft())  # type: ignore[attr-defined]


_TCP: dict[tuple[Any, ...], TcpSender] = {}
_DGRAM: dict[tuple[Any, ...], DatagramSender] = {}


def _forget_closed(table: dict[tuple[Any, ...], Any]) -> None:
    for key in [k for k in table if k[0].is_closed()]:
        del table[key]


def tcp_sender(plugin: str, conf: dict[str, Any]) -> TcpSender:
    """This loop's sender for the destination and connection options of ``conf``."""
    loop = asyncio.get_running_loop()
    key = (
        loop,
        plugin,
        conf["host"],
        conf["port"],
        conf["timeout"],
        conf["keepalive"],
        conf.get("tls"),
        conf.get("tls_sni"),
    )
    sender = _TCP.get(key)
    if sender is None:
        _forget_closed(_TCP)
        sender = _TCP[key] = TcpSender(plugin, conf)
    return sender


def datagram_sender(plugin: str, target: tuple[str, int] | str, timeout: float = 10.0) -> DatagramSender:
    """This loop's datagram sender for ``target``."""
    loop = asyncio.get_running_loop()
    key = (loop, plugin, target, timeout)
    sender = _DGRAM.get(key)
    if sender is None:
        _forget_closed(_DGRAM)
        sender = _DGRAM[key] = DatagramSender(plugin, target, timeout)
    return sender


async def close_senders(plugin: str, timeout: float = 2.0) -> None:
    """The gateway stops: ``plugin``'s senders on this loop write what they hold (within
    ``timeout`` seconds; the rest is dropped, counted), close their sockets and are forgotten."""
    loop = asyncio.get_running_loop()
    tcp = [(key, s) for key, s in _TCP.items() if key[0] is loop and key[1] == plugin]
    dgram = [(key, s) for key, s in _DGRAM.items() if key[0] is loop and key[1] == plugin]
    await finish_tasks([s.task for _, s in (*tcp, *dgram) if s.task is not None], timeout)
    for key, sender in tcp:
        _TCP.pop(key, None)
        if sender.pending:
            sender.warn.drop(len(sender.pending))
            sender.pending.clear()
        if sender.writer is not None:
            sender.writer.close()
            sender.writer = None
    for key, datagrams in dgram:
        _DGRAM.pop(key, None)
        if datagrams.pending:
            datagrams.warn.drop(len(datagrams.pending))
            datagrams.pending.clear()
        if datagrams.transport is not None:
            datagrams.transport.close()
