"""An isolated plugin's worker process: ``python -m host.isolated.worker FD PARENT_PID``.

The gateway starts one (or ``isolated_workers``) per isolated plugin with one end of a
socketpair as ``FD``.  The worker:

1. asks the kernel to SIGKILL it when the gateway dies (``PR_SET_PDEATHSIG``), turns
   core dumps off and sets ``RLIMIT_AS`` to ``isolated_max_memory``;
2. reads the ``init`` frame (settings, plugin kind/name/path), loads the plugin with
   the same loaders as the gateway (``host.lua.loader`` into a :class:`LuaHost` of its
   own, or ``host.plugins.python_loader``) and answers ``ready`` with its metadata;
3. runs its ``init_worker`` handler, then serves phase calls: each builds a real
   :class:`~host.context.Context` from the snapshot, runs the handler with the real
   PDK (the same ``pdk/`` code as in the gateway) and replies with the journal of its
   writes (:mod:`host.isolated.snapshot`) and the log records it produced.

Calls are multiplexed by id: a handler that waits for I/O does not hold the others.
The channel is an :class:`asyncio.Protocol`: one ``recv`` per wake-up however many
frames it brings, and the replies of the calls those frames ran go back in one
``send`` (replies of handlers that waited are flushed at the end of the loop
iteration that finished them).  Nothing here is trusted by the gateway: it bounds
every call by a wall-clock budget and kills the process on a timeout, a crash or a
malformed frame.
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import logging
import os
import resource
import signal
import socket
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

from host.isolated.entities import WorkerSnapshots
from host.isolated.protocol import FrameBuffer, ProtocolError, pack, read_frame_blocking
from host.isolated.snapshot import build_context, journal
from pdk.phases import Phase

__all__ = ["main", "plugin_metadata"]

_PR_SET_PDEATHSIG = 1
#: requests whose Lua state a worker keeps between phases (oldest dropped first)
MAX_STATES = 4096
#: log records of the call running in this task (None outside calls)
_records: contextvars.ContextVar[list[list[Any]] | None] = contextvars.ContextVar("records", default=None)


class _Capture(logging.Handler):
    """Log records produced by a call travel back with its reply."""

    def emit(self, record: logging.LogRecord) -> None:
        records = _records.get()
        if records is not None and len(records) < 100:
            records.append([record.levelno, record.name, record.getMessage()[:4096]])


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the closed socket still ends the worker
        pass
    if os.getppid() != parent:  # the gateway died before prctl
        os._exit(1)


def _limits(max_memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if max_memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))


def plugin_metadata(spec: Any, raw_schema: Any) -> dict[str, Any]:
    """What the gateway needs to build the plugin's spec (all plain data)."""
    return {
        "name": spec.name,
        "version": spec.version,
        "priority": spec.priority,
        "phases": list(spec.handlers),
        "schema": raw_schema,
        "source": spec.source,
    }


def _load(init: dict[str, Any], settings: Any) -> tuple[Any, Any]:
    """(spec, raw schema) of the plugin ``init`` names."""
    if init["kind"] == "lua":
        from host.lua.loader import load_lua_plugin
        from host.lua.modules.moongate_db import DAOS_SCHEMAS_KEY
        from host.lua.runtime import LuaHost

        host = LuaHost(settings)
        if init.get("daos") is not None:
            # kong.db's view of the entities the gateway accepted from every plugin's daos.lua
            host.state[DAOS_SCHEMAS_KEY] = init["daos"]
        return load_lua_plugin(host, init["name"], Path(init["path"])), None
    from host.plugins.python_loader import _import_path, load_python_plugin

    module = _import_path(Path(init["path"]))
    holder = getattr(module, "Plugin", module)
    raw = getattr(holder, "SCHEMA", getattr(module, "SCHEMA", None))
    return load_python_plugin(module, default_name=init["name"]), raw


class Worker:
    """Serves phase calls for one loaded plugin."""

    def __init__(self, spec: Any, settings: Any, write: Any) -> None:
        """``write(data)`` sends bytes to the gateway (the transport's ``write``)."""
        from pdk import kong

        self.spec = spec
        self.settings = settings
        self.kong = kong
        self.write = write
        #: replies not sent yet (flushed once per batch of frames or loop iteration)
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self.confs: dict[int, Any] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        #: the configuration snapshots the gateway shipped (kong.db's rows)
        self.snapshots = WorkerSnapshots()
        #: request id -> ``ctx.extra`` of its last call (a Lua plugin's ``ngx.ctx`` and
        #: ``kong.ctx.plugin`` live in its Lua request state, kept there by identity)
        self.states: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def reply(self, message: dict[str, Any], blobs: dict[str, bytes] | None = None) -> None:
        """Queue a reply; it leaves with the batch's (:meth:`flush`)."""
        self._out.append(pack(message, blobs))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Send the queued replies in one write."""
        self._flush_scheduled = False
        out = self._out
        if out:
            self._out = []
            self.write(out[0] if len(out) == 1 else b"".join(out))

    def dispatch(self, message: dict[str, Any], blobs: dict[str, bytes]) -> None:
        """One frame from the gateway."""
        op = message.get("op")
        if op == "call":
            self.call(message, blobs)
        elif op == "snapshot":
            self.snapshots.add(message)
        elif op == "configure":
            task = asyncio.get_running_loop().create_task(self.configure(message))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def failed(self, call_id: int, exc: BaseException) -> None:
        from host.plugins.faults import reason_of

        reason = reason_of(exc)
        text = str(exc) or type(exc).__name__
        self.reply({"id": call_id, "ok": False, "reason": reason, "error": text[:4096]})

    def call(self, message: dict[str, Any], blobs: dict[str, bytes]) -> None:
        """One phase call: runs at once; continues in a task if the handler waits."""
        from host.context import reset_context, use_context

        call_id = message["id"]
        phase = message["phase"]
        if "confdata" in message:
            self.confs[message["conf"]] = message["confdata"]
        conf = self.confs.get(message["conf"])
        name = self.spec.name
        records: list[list[Any]] = []
        records_token = _records.set(records)
        try:
            ctx = build_context(message["ctx"], blobs, phase, name, self.settings)
            ctx.snapshot = self.snapshots.get(message.get("s"))
        except Exception as exc:  # noqa: BLE001 - a snapshot this worker cannot read
            _records.reset(records_token)
            self.failed(call_id, exc)
            return
        kept = self.states.pop(ctx.request_id, None)
        if kept is not None:
            ctx.extra.update(kept)
        token = use_context(ctx)
        try:
            pending = self.spec.handlers[phase](self.kong, conf)
            if pending is not None:
                task = asyncio.get_running_loop().create_task(self._finish(call_id, ctx, pending, records))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                return
            self._done(call_id, ctx, records, False)
        except BaseException as exc:  # noqa: BLE001 - reported to the gateway
            self._ended(call_id, ctx, records, exc)
        finally:
            reset_context(token)
            _records.reset(records_token)

    async def _finish(self, call_id: int, ctx: Any, pending: Any, records: list[list[Any]]) -> None:
        try:
            await pending
        except BaseException as exc:  # noqa: BLE001 - reported to the gateway
            self._ended(call_id, ctx, records, exc)
            return
        self._done(call_id, ctx, records, False)

    def _ended(self, call_id: int, ctx: Any, records: list[list[Any]], exc: BaseException) -> None:
        from pdk.errors import ExitSignal

        if isinstance(exc, ExitSignal):
            self._done(call_id, ctx, records, True)
        elif isinstance(exc, Exception):
            self.failed(call_id, exc)
        else:
            raise exc

    def _done(self, call_id: int, ctx: Any, records: list[list[Any]], exited: bool) -> None:
        if ctx.phase != Phase.log and len(ctx.extra) > 1:
            states = self.states
            states[ctx.request_id] = {k: v for k, v in ctx.extra.items() if k != "isolated.sent"}
            if len(states) > MAX_STATES:
                states.popitem(last=False)
        try:
            j, blobs = journal(ctx, self.spec.name, exited)
            if records:
                j["log"] = records
            self.reply({"id": call_id, "ok": True, "j": j}, blobs)
        except Exception as exc:  # noqa: BLE001 - e.g. a value JSON cannot hold
            self.failed(call_id, exc)

    async def configure(self, message: dict[str, Any]) -> None:
        for conf_id, data in message["confs"]:
            if data is not None:
                self.confs[conf_id] = data
        handler = self.spec.handlers.get("configure")
        try:
            if handler is not None:
                configs = [self.confs[conf_id] for conf_id, _ in message["confs"]] or None
                pending = handler(self.kong, configs)
                if pending is not None:
                    await pending
        except Exception as exc:  # noqa: BLE001 - reported to the gateway
            self.failed(message["id"], exc)
            return
        self.reply({"id": message["id"], "ok": True, "j": {}})

    async def init_worker(self) -> None:
        handler = self.spec.handlers.get("init_worker")
        if handler is None:
            return
        try:
            pending = handler(self.kong)
            if pending is not None:
                await pending
        except Exception:  # noqa: BLE001 - logged, the worker still serves
            logging.getLogger("moongate.isolated").exception("init_worker of %s failed", self.spec.name)


class _Channel(asyncio.Protocol):
    """The worker's end of the socketpair: frames in, replies out."""

    def __init__(self, worker: Worker, closed: asyncio.Future[None]) -> None:
        self.worker = worker
        self.closed = closed
        self.frames = FrameBuffer()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.frames.feed(data)
        except ProtocolError:  # the gateway does not send garbage: stop
            self.connection_lost(None)
            return
        worker = self.worker
        for message, blobs in messages:
            worker.dispatch(message, blobs)
        worker.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def serve(sock: socket.socket, spec: Any, settings: Any) -> None:
    """Run ``init_worker``, then serve the gateway's frames until it closes the channel."""
    loop = asyncio.get_running_loop()
    worker = Worker(spec, settings, lambda data: None)
    await worker.init_worker()
    closed: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.create_unix_connection(lambda: _Channel(worker, closed), sock=sock)
    worker.write = transport.write
    await closed
    transport.close()


def main(argv: list[str]) -> int:
    fd, parent = int(argv[1]), int(argv[2])
    _die_with_parent(parent)
    sock = socket.socket(fileno=fd)
    init, _ = read_frame_blocking(sock)
    _limits(int(init.get("max_memory") or 0))
    root = logging.getLogger()
    root.handlers[:] = [_Capture()]
    root.setLevel(int(init.get("log_level") or logging.INFO))
    from host.settings import Settings
    from pdk._settings import set_default_settings

    known = Settings.known()
    settings = Settings(**{k: v for k, v in init["settings"].items() if k in known})
    set_default_settings(settings)
    try:
        spec, raw_schema = _load(init, settings)
        meta = plugin_metadata(spec, raw_schema)
        frame = pack({"op": "ready", "meta": meta, "pid": os.getpid()})
    except BaseException as exc:  # noqa: BLE001 - the gateway reports it as a load failure
        sock.sendall(pack({"op": "failed", "error": str(getattr(exc, "reason", None) or exc)[:4096]}))
        return 1
    sock.sendall(frame)
    asyncio.run(serve(sock, spec, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
