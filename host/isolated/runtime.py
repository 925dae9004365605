"""The ``isolated`` trust level on the gateway's side: a supervised pool of worker processes.

An :class:`IsolatedRuntime` owns ``isolated_workers`` processes running one plugin (Lua
or Python).  Its spec's handlers are coroutines that send one ``call`` frame per phase
call (the request snapshot, the config the first time that process sees it), wait for
the reply within ``isolated_timeout_ms`` of wall-clock time, apply the journal to the
request context and re-emit the plugin's log lines.  Failures raise
:class:`~host.isolated.protocol.IsolatedFailure`, so the phase runner answers the
generic 500 and counts ``kong_plugin_errors_total{reason=...}``; a process that died
or was killed is replaced in the background (a thread does the blocking start), and
the calls that arrive meanwhile wait for it.

It takes part in the lifecycle the gateway drives for sandboxed runtimes (it is a
:class:`~host.lua.trust.Sandbox`): ``Gateway.stop`` closes it, which kills its
processes; a process also dies with the gateway (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from host.context import current_context
from host.isolated.entities import SnapshotShipper
from host.isolated.process import WorkerProcess, exit_text, handshake, launch, spawn
from host.isolated.protocol import IsolatedFailure
from host.isolated.snapshot import apply, snapshot
from host.lua.trust import Sandbox
from host.plugins.spec import PluginLoadError, PluginSpec, validate_metadata
from host.settings import SENSITIVE_SETTINGS
from pdk.phases import PLUGIN_PHASES

__all__ = ["IsolatedRuntime", "IsolatedLimits"]

log = logging.getLogger("moongate.isolated")
#: distinct configs remembered per plugin before the memo starts over
_MAX_CONFS = 4096


@dataclasses.dataclass(frozen=True)
class IsolatedLimits:
    """``isolated_timeout_ms``, ``isolated_workers`` and ``isolated_max_memory``."""

    timeout: float = 1.0
    workers: int = 1
    max_memory: int = 1 << 30

    @classmethod
    def from_settings(cls, settings: Any) -> IsolatedLimits:
        timeout = int(getattr(settings, "isolated_timeout_ms", 1000))
        workers = int(getattr(settings, "isolated_workers", 1))
        memory = int(getattr(settings, "isolated_max_memory", 1 << 30))
        if timeout <= 0:
            raise ValueError("isolated_timeout_ms must be a positive number of milliseconds")
        if not 1 <= workers <= 64:
            raise ValueError("isolated_workers must be between 1 and 64")
        if memory and memory < 256 << 20:
            raise ValueError("isolated_max_memory must be 0 (no limit) or at least 256 MiB (268435456)")
        return cls(timeout / 1000, workers, memory)


class IsolatedRuntime(Sandbox):
    """One isolated plugin's worker processes (see the module docstring)."""

    def __init__(self, settings: Any, name: str, kind: str, path: Path) -> None:
        super().__init__(settings, name)
        self.limits = IsolatedLimits.from_settings(settings)
        self.kind = kind
        self.path = path
        self.workers: list[WorkerProcess | None] = []
        #: worker slot -> the restart under way
        self._restarts: dict[int, asyncio.Future[WorkerProcess]] = {}
        self._confs: dict[int, tuple[Any, int]] = {}
        self._last_configs: list[Any] | None = None
        self._closing = False
        #: the process the pool runs for (a forked child starts its own), its start
        self._owner = 0
        self._starting: asyncio.Future[None] | None = None
        self._next_conf = 0
        #: processes started after a death (for the status of tests and operators)
        self.restarts = 0
        #: the configuration's entities, shipped to the workers (host/isolated/entities.py)
        self.shipper = SnapshotShipper(name)
        #: kong.db's view of the entities plugins declare in daos.lua (sent in ``init``)
        self._daos: dict[str, dict[str, Any]] | None = None

    # -- start-up ------------------------------------------------------------------------
    def _init(self) -> dict[str, Any]:
        values = {k: v for k, v in asdict(self.settings).items() if k not in SENSITIVE_SETTINGS}
        return {
            "op": "init",
            "kind": self.kind,
            "name": self.name,
            "path": str(self.path),
            "settings": values,
            "max_memory": self.limits.max_memory,
            "log_level": logging.getLogger("moongate").getEffectiveLevel(),
            "daos": self._daos,
        }

    def probe(self) -> dict[str, Any]:
        """Load the plugin once in a worker (blocking: gateway start-up) and return its
        metadata; the probe process is stopped again.  The pool starts in the process
        that serves (``init_worker``): a supervisor forks its workers after loading."""
        source = str(self.path / "handler.lua") if self.kind == "lua" else str(self.path)
        try:
            proc, sock, meta = spawn(self._init())
        except RuntimeError as exc:
            raise PluginLoadError(self.name, source, f"isolated worker: {exc}") from None
        probe = WorkerProcess(proc, sock, lambda worker: None)
        probe.close()
        return meta

    async def start(self) -> None:
        """Start the pool in this process (once; again in a forked child)."""
        if self._owner == os.getpid():
            if self._starting is not None:
                await asyncio.shield(self._starting)
            return
        self._owner = os.getpid()
        self.workers = [None] * self.limits.workers
        self._restarts = {}
        loop = asyncio.get_running_loop()
        self._starting = loop.create_future()
        try:
            started = await asyncio.gather(*(self._spawn() for _ in self.workers), return_exceptions=True)
            for slot, worker in enumerate(started):
                if isinstance(worker, WorkerProcess):
                    self.workers[slot] = worker
                else:
                    log.error("isolated worker of plugin '%s' failed to start: %s", self.name, worker)
                    self._died_slot(slot)
        finally:
            self._starting.set_result(None)

    async def _spawn(self) -> WorkerProcess:
        proc, sock = launch(self._init())
        await asyncio.get_running_loop().run_in_executor(None, handshake, proc, sock)
        worker = WorkerProcess(proc, sock, self._died)
        await worker.connect()
        return worker

    def python_spec(self, meta: dict[str, Any]) -> PluginSpec:
        """The spec of an isolated Python plugin, from what its worker reported."""
        from host.plugins.python_loader import _schema_for
        from host.schema import scope_flags

        name, source = meta["name"], meta["source"]
        phases = [p for p in PLUGIN_PHASES if p in meta["phases"]]
        priority, version = validate_metadata(name, source, meta["priority"], meta["version"], phases)
        schema = _schema_for(name, source, meta["schema"])
        no_consumer, no_route, no_service = scope_flags(schema)
        spec = PluginSpec(
            name=name,
            version=version,
            priority=priority,
            language="python",
            source=source,
            schema=schema,
            no_consumer=no_consumer,
            no_route=no_route,
            no_service=no_service,
        )
        return self.wrap(spec, phases)

    def wrap(self, spec: PluginSpec, phases: list[str]) -> PluginSpec:
        """``spec`` with handlers that call the workers (every phase is async)."""
        phases = ["init_worker", *(p for p in phases if p != "init_worker")]
        handlers = {phase: self._entry(phase) for phase in phases}
        extra = {k: v for k, v in spec.extra.items() if k not in ("folder", "handler", "instance")}
        extra.update(trust="isolated", sandbox=self, isolated=self)
        return dataclasses.replace(spec, handlers=handlers, async_phases=frozenset(phases), extra=extra)

    # -- calls ---------------------------------------------------------------------------
    def _entry(self, phase: str) -> Any:
        if phase == "init_worker":  # starts the pool; each process runs the plugin's own

            async def init_worker(kong: Any) -> None:
                await self.start()

            return init_worker
        if phase == "configure":

            async def configure(kong: Any, configs: list[Any] | None) -> None:
                self._last_configs = list(configs or ())
                for slot in range(len(self.workers)):
                    await self._configure(await self._worker(slot))

            return configure

        async def call(kong: Any, conf: Any) -> None:
            await self._call(phase, conf)

        call.__name__ = f"{self.name}.{phase}"
        return call

    def _conf_id(self, conf: Any) -> int:
        entry = self._confs.get(id(conf))
        if entry is not None and entry[0] is conf:
            return entry[1]
        if len(self._confs) >= _MAX_CONFS:
            self._confs.clear()
        self._next_conf += 1
        conf_id = self._next_conf
        self._confs[id(conf)] = (conf, conf_id)
        return conf_id

    async def _worker(self, slot: int) -> WorkerProcess:
        if self._owner != os.getpid() or self._starting is None or not self._starting.done():
            await self.start()
        worker = self.workers[slot]
        if worker is None or not worker.alive:
            restart = self._restarts.get(slot)
            if restart is None:
                raise IsolatedFailure("crash", "the worker is not running")
            worker = await asyncio.shield(restart)
        if worker._transport is None:
            await worker.connect()
        return worker

    def _pick(self, request_id: str) -> int:
        """The worker for a request: always the same one for all its phases (a Lua
        plugin's ``ngx.ctx`` and ``kong.ctx.plugin`` stay in that worker)."""
        n = len(self.workers)
        if n == 1:
            return 0
        try:
            return int(request_id[-8:], 16) % n
        except ValueError:
            return hash(request_id) % n

    async def _call(self, phase: str, conf: Any) -> None:
        ctx = current_context()
        worker = await self._worker(self._pick(ctx.request_id))
        data, blobs = snapshot(ctx, phase, self.name)
        conf_id = self._conf_id(conf)
        message: dict[str, Any] = {"op": "call", "phase": phase, "conf": conf_id, "ctx": data}
        snap = ctx.snapshot
        if snap is not None:  # the configuration's rows, once per version (kong.db)
            sid = worker.last_sid if snap is worker.last_snapshot else self.shipper.ship(worker, snap)
            if sid is not None:
                message["s"] = sid
        if conf_id not in worker.confs:
            message["confdata"] = conf
            worker.confs.add(conf_id)
        _, future = worker.send(message, blobs, self.limits.timeout)
        reply, reply_blobs = await future
        if not reply.get("ok"):
            reason = reply.get("reason") or "error"
            if reason == "memory":  # a fresh process gives the memory back
                worker.kill("crash", "worker recycled after a memory error")
            raise IsolatedFailure(reason, str(reply.get("error")))
        j = reply["j"]
        if "log" in j:
            self._relay(ctx, phase, j["log"])
        apply(ctx, self.name, j, reply_blobs)

    def _relay(self, ctx: Any, phase: str, records: list[list[Any]]) -> None:
        for level, logger, message in records:
            logging.getLogger(str(logger)).log(
                int(level),
                str(message),
                extra={"plugin": self.name, "request_id": ctx.request_id, "phase": phase, "isolated": True},
            )

    async def _configure(self, worker: WorkerProcess) -> None:
        confs = []
        for conf in self._last_configs or ():
            conf_id = self._conf_id(conf)
            confs.append([conf_id, None if conf_id in worker.confs else conf])
            worker.confs.add(conf_id)
        _, future = worker.send({"op": "configure", "confs": confs}, None)
        reply, _ = await asyncio.wait_for(future, max(self.limits.timeout, 5.0))
        if not reply.get("ok"):
            log.error("plugin '%s' failed in configure: %s", self.name, reply.get("error"))

    # -- deaths and restarts -------------------------------------------------------------
    def _died(self, worker: WorkerProcess) -> None:
        if worker in self.workers:
            slot = self.workers.index(worker)
            self.workers[slot] = None
            self._died_slot(slot, worker)

    def _died_slot(self, slot: int, old: WorkerProcess | None = None) -> None:
        if self._closing or slot in self._restarts:
            return
        loop = asyncio.get_running_loop()
        restart: asyncio.Future[WorkerProcess] = loop.create_future()
        self._restarts[slot] = restart
        task = loop.create_task(self._restart(slot, old, restart))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _restart(
        self, slot: int, old: WorkerProcess | None, restart: asyncio.Future[WorkerProcess]
    ) -> None:
        loop = asyncio.get_running_loop()
        if old is not None:
            code = await loop.run_in_executor(None, old.reap)
            old.sock.close()
            log.warning(
                "isolated worker of plugin '%s' (pid %s) %s: starting a new one",
                self.name,
                old.pid,
                exit_text(code),
                extra={"plugin": self.name},
            )
        while not self._closing:
            try:
                worker = await self._spawn()
            except (RuntimeError, OSError) as exc:
                log.error("isolated worker of plugin '%s' failed to start: %s", self.name, exc)
                await asyncio.sleep(1.0)
                continue
            if self._closing:
                worker.close()
                break
            self.workers[slot] = worker
            self.restarts += 1
            if self._last_configs:
                try:
                    await self._configure(worker)
                except (TimeoutError, IsolatedFailure) as exc:
                    log.error("plugin '%s' failed in configure: %s", self.name, exc)
            break
        self._restarts.pop(slot, None)
        current = self.workers[slot]
        if current is not None:
            restart.set_result(current)
        else:
            restart.set_exception(IsolatedFailure("crash", "the gateway is stopping"))
            restart.exception()

    def pids(self) -> list[int]:
        """The process ids of the running workers."""
        return [w.pid for w in self.workers if w is not None and w.alive]

    # -- the Sandbox lifecycle -----------------------------------------------------------
    def share_state(self, values: dict[str, Any]) -> None:
        """The entity types the gateway accepted from the plugins' daos.lua: their
        ``kong.db`` view (plain data) goes to each worker in its ``init`` frame, so a
        worker serves ``kong.db`` for every plugin's entities as the gateway does."""
        from host.config.lua_daos import DECLARED_KEY
        from host.lua.modules.moongate_db import daos_view

        declared = values.get(DECLARED_KEY)
        if declared is not None:
            self._daos = daos_view(declared)

    async def close(self) -> None:
        """Gateway shutdown: kill the workers, wait for them, no restart."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._owner != os.getpid():  # a forked child's copy: its parent owns them
            return
        for worker in self.workers:
            if worker is not None:
                worker.close()
        for future in self._restarts.values():
            if not future.done():
                future.set_exception(IsolatedFailure("crash", "the gateway is stopping"))
                future.exception()
