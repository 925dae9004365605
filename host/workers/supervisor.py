"""``moongate start --workers N``: a supervisor process and N forked worker processes.

The supervisor loads the plugins and validates the configuration once, then forks the
workers: each one is a complete :class:`~host.gateway.Gateway` on its own event loop,
binding the same ports with ``SO_REUSEPORT`` (the kernel spreads new connections over
them).  The supervisor itself serves no traffic; it is a plain loop over
``sigtimedwait`` (no event loop, no threads unless ``--watch``), so forking from it is safe:

* ``SIGCHLD``: a worker that died is reaped, its Prometheus files are marked dead
  (``prometheus_client.multiprocess.mark_process_dead``), its status file removed, and it
  is forked again (after a second when it lived less than five seconds, so a worker that
  keeps crashing does not spin).  A worker that dies before the gateway ever was ready
  (a port in use, a plugin failing at start) stops the whole gateway with exit status 1.
* ``SIGHUP`` (``moongate reload``, or the ``--watch`` thread on a file change): the file is
  validated here first; a bad file is refused once, with its errors, and the workers keep
  their config; a good one is kept for workers forked later and SIGHUP is forwarded to
  every worker, each of which reloads it.
* ``SIGTERM``/``SIGINT``: every worker drains (stops accepting, finishes in-flight requests
  within ``nginx_main_worker_shutdown_timeout``) and exits; a worker still running five
  seconds after that is killed.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.workers.control import parse_duration
from host.workers.serve import HANDLED_SIGNALS

if TYPE_CHECKING:  # pragma: no cover
    from host.config.model import DeclarativeConfig
    from host.plugins.spec import PluginRegistry
    from host.settings import Settings

__all__ = ["Supervisor"]

log = logging.getLogger("moongate.supervisor")

SIGNALS = {signal.SIGCHLD, *HANDLED_SIGNALS}
#: extra seconds a worker gets after the shutdown timeout before it is killed
KILL_MARGIN = 5.0


@dataclass
class Worker:
    index: int
    started: float


class Supervisor:
    """Forks, watches, restarts, reloads and drains the workers (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        registry: PluginRegistry,
        config: DeclarativeConfig,
        *,
        workers: int,
        status_dir: Path,
        watch: bool = False,
        store: Any = None,
    ) -> None:
        from host.proxy.tls import parse_listeners
        from host.settings import parse_listen

        self.store = store  # the Admin API's store (host/store/): each worker opens it after the fork
        self.listeners = parse_listeners(settings.proxy_listen)
        status_on = settings.status_listen and settings.status_listen != "off"
        self.status_port = parse_listen(settings.status_listen)[1] if status_on else None
        if any(lst.port == 0 for lst in self.listeners) or self.status_port == 0:
            raise ValueError(f"{workers} workers need fixed ports: a listener has port 0")
        self.settings = settings
        self.registry = registry
        self.config = config
        self.count = workers
        self.status_dir = status_dir
        self.watch = watch
        self.grace = parse_duration(settings.nginx_main_worker_shutdown_timeout)
        self.workers: dict[int, Worker] = {}
        self.restarts: list[tuple[float, int]] = []  # (when, worker index)
        self.ready = False
        self.failed = False
        self.stopping = False
        self.master = os.getpid()

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> int:
        """Run until SIGTERM/SIGINT; the exit status (1 when the workers could not start)."""
        self.master = os.getpid()
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        gc.collect()
        gc.freeze()  # what is loaded now is shared with the workers, copy-on-write
        for index in range(self.count):
            self._fork(index)
        stop_watch = self._start_watch() if self.watch else None
        try:
            while not self.stopping:
                info = signal.sigtimedwait(SIGNALS, 0.2 if self.ready else 0.02)
                self._reap()
                if info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT):
                    log.log(25, "moongate stopping: draining %d worker(s)", len(self.workers))
                    break
                if info is not None and info.si_signo == signal.SIGHUP:
                    self._reload()
                self._restart_due()
                self._check_ready()
        finally:
            if stop_watch is not None:
                stop_watch.set()
            self._shutdown()
        return 1 if self.failed else 0

    def _fork(self, index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            self._worker_main(index)
        self.workers[pid] = Worker(index, time.monotonic())
        log.info("worker %d started", index, extra={"pid": pid, "worker_id": index})

    def _worker_main(self, index: int) -> None:
        code = 1
        try:
            for sig in SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            # SIGHUP/SIGTERM/SIGINT stay blocked until serve() handles them (they wait, pending)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
            _drain_when_orphaned(self.master)
            from host.cli.start import run_event_loop
            from host.gateway import Gateway
            from host.workers.serve import serve

            if self.registry.lua is not None:
                self.registry.lua.state["worker_id"] = index  # ngx.worker.id()
            gateway = Gateway(self.settings, self.registry, self.config, store=self.store)
            gateway.worker_id = index
            gateway.status_dir = self.status_dir
            run_event_loop(serve(gateway))
            code = 0
        except BaseException:  # noqa: BLE001 - reported; the supervisor restarts the worker
            log.exception("worker %d failed", index, extra={"worker_id": index})
        finally:
            logging.shutdown()
            sys.stderr.flush()
            os._exit(code)

    def _reap(self) -> None:
        """Collect every worker that exited; schedule its restart."""
        from prometheus_client import multiprocess

        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is None:
                continue
            with contextlib.suppress(Exception):
                multiprocess.mark_process_dead(pid)
            with contextlib.suppress(OSError):
                (self.status_dir / f"{pid}.json").unlink()
            if self.stopping:
                continue
            how = _describe(status)
            extra = {"pid": pid, "worker_id": worker.index}
            if not self.ready:
                log.error(
                    "worker %d %s before the gateway was ready: stopping", worker.index, how, extra=extra
                )
                self.failed = self.stopping = True
                continue
            lived = time.monotonic() - worker.started
            delay = 0.0 if lived > 5 else 1.0
            log.error("worker %d %s: restarting it", worker.index, how, extra=extra)
            self.restarts.append((time.monotonic() + delay, worker.index))

    def _restart_due(self) -> None:
        now = time.monotonic()
        due = [r for r in self.restarts if r[0] <= now]
        self.restarts = [r for r in self.restarts if r[0] > now]
        for _, index in due:
            self._fork(index)

    def _check_ready(self) -> None:
        """Once every worker published its status: the gateway is up (said once)."""
        if self.ready or self.stopping:
            return
        if not all((self.status_dir / f"{pid}.json").exists() for pid in self.workers):
            return
        self.ready = True
        plain = next((lst.port for lst in self.listeners if not lst.ssl), 0)
        tls = next((lst.port for lst in self.listeners if lst.ssl), 0)
        logging.getLogger("moongate.gateway").log(
            25,
            "moongate started",
            extra={
                "proxy_port": plain,
                "proxy_ssl_port": tls,
                "status_port": self.status_port or 0,
                "pid": os.getpid(),
                "workers": sorted(self.workers),
            },
        )
        self._ready_mark().write_text("{}")  # /status/ready answers 200 from now on

    def _ready_mark(self) -> Path:
        return self.status_dir / f"ready-{os.getpid()}.json"

    # -- reload ---------------------------------------------------------------------------------
    def _reload(self) -> None:
        """Validate the file once here; forward SIGHUP to the workers only when it is valid."""
        from host.config import ConfigError, load_file

        path = self.settings.declarative_config
        if not path:
            log.warning("SIGHUP ignored: no declarative file to reload (start with -c FILE)")
            return
        try:
            self.config = load_file(path, self.registry)
        except ConfigError as err:
            for line in err.errors:
                log.error("reload refused: %s", line)
            self._kept(path, len(err.errors))
            return
        except OSError as err:
            log.error("reload refused: %s", err)
            self._kept(path, 1)
            return
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGHUP)
        log.info("reload: %s is valid, sent to %d worker(s)", path, len(self.workers))

    @staticmethod
    def _kept(path: str, errors: int) -> None:
        log.error("reload of %s refused (%d error(s)): the running configuration keeps serving", path, errors)

    def _start_watch(self) -> threading.Event:
        """``--watch``: a thread that turns each change of the file into a SIGHUP to this process."""
        from watchfiles import watch

        stop = threading.Event()
        target = Path(self.settings.declarative_config or ".").resolve()

        def only_target(_change: object, changed: str) -> bool:
            return Path(changed).resolve() == target

        def run() -> None:
            for _changes in watch(
                target.parent, watch_filter=only_target, debounce=300, step=50, stop_event=stop
            ):
                log.info("%s changed: reloading", target)
                os.kill(os.getpid(), signal.SIGHUP)

        if self.settings.declarative_config:
            log.info("watching %s: it is reloaded when it changes", target)
            threading.Thread(target=run, name="moongate-watch", daemon=True).start()
        return stop

    # -- shutdown -------------------------------------------------------------------------------
    def _shutdown(self) -> None:
        """SIGTERM to every worker, wait for them (bounded), kill the ones left."""
        self.stopping = True
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace + KILL_MARGIN
        while self.workers and time.monotonic() < deadline:
            signal.sigtimedwait({signal.SIGCHLD}, 0.1)
            self._reap()
        for pid, worker in self.workers.items():
            log.error("worker %d did not stop in time: killed", worker.index, extra={"pid": pid})
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while self.workers:
            signal.sigtimedwait({signal.SIGCHLD}, 0.1)
            self._reap()
        with contextlib.suppress(OSError):
            self._ready_mark().unlink()
        log.log(25, "moongate stopped", extra={"pid": os.getpid()})


def _drain_when_orphaned(master: int) -> None:
    """Have the kernel send this worker SIGTERM if the supervisor dies (Linux ``prctl``):
    a killed supervisor leaves no workers holding the port."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != master:  # it died before the prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _describe(status: int) -> str:
    """``exited with status 3`` / ``was killed by SIGKILL``."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"was killed by {name}"
    return f"exited with status {os.WEXITSTATUS(status)}"
