"""One worker's life on its event loop: start, reload on SIGHUP or file change, drain on SIGTERM.

The same coroutine runs the single process of ``moongate start --workers 1`` and each
worker a supervisor forks.  Signals:

* ``SIGHUP``: reload the declarative file (``Gateway.reload_file``: validated, a complete
  new snapshot swapped in, ``configure`` handlers called; a bad file is refused with its
  errors and the running config keeps serving).  Reloads run one at a time.
* ``SIGTERM``/``SIGINT``: graceful shutdown within ``nginx_main_worker_shutdown_timeout``.

A forked worker arrives here with those signals blocked (the supervisor's mask): they stay
pending until the loop's handlers are installed, so a SIGHUP sent while the worker was
still loading is served once it runs, and never kills it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from host.workers.control import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from host.gateway import Gateway

__all__ = ["serve", "watch_file", "HANDLED_SIGNALS"]

log = logging.getLogger("moongate.workers")

#: the signals a worker handles (a forked worker has them blocked until its loop runs)
HANDLED_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
#: seconds between two status publications of a worker
PUBLISH_INTERVAL = 1.0


async def serve(gateway: Gateway, *, watch: bool = False) -> None:
    """Start ``gateway``, serve until SIGTERM/SIGINT, then drain and stop it."""
    settings = gateway.settings
    grace = parse_duration(settings.nginx_main_worker_shutdown_timeout)
    loaded = file_signature(settings.declarative_config)  # what --watch compares with
    await gateway.start()
    gateway.tune_gc()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    tasks: set[asyncio.Task[object]] = set()  # the loop keeps only weak references to tasks

    def spawn(coro: object) -> None:
        task = loop.create_task(coro)  # type: ignore[arg-type]
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    path = settings.declarative_config

    async def reload() -> None:
        if await gateway.reload_file(path) and gateway.status_dir is not None:
            publish(gateway)  # the new configuration_hash shows at once in /status

    def on_hup() -> None:
        if path:
            spawn(reload())
        else:
            log.warning("SIGHUP ignored: no declarative file to reload (start with -c FILE)")

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, on_hup)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)  # pending ones are served now

    background: list[asyncio.Task[None]] = []
    if watch and path and gateway.worker_id is None:  # a supervisor watches for its workers
        background.append(loop.create_task(watch_file(path, on_hup, since=loaded)))
    if gateway.status_dir is not None:
        background.append(loop.create_task(_publish_every(gateway, PUBLISH_INTERVAL)))

    await stop.wait()
    log.info("stopping: finishing in-flight requests (up to %.1fs)", grace, extra={"pid": _pid()})
    for task in background:
        task.cancel()
    for task in background:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await gateway.stop(grace=grace)


async def watch_file(path: str, on_change: Callable[[], None], since: tuple[int, ...] | None = None) -> None:
    """Call ``on_change()`` each time ``path`` changes (written in place, or replaced by a
    rename as editors and ``kubectl`` do): its folder is watched, other files ignored.

    Each second without an event the file's signature (inode, size, mtime) is compared with
    the last one seen too, starting from ``since`` (taken when the file was loaded): a change
    made before the watcher was up, or an event the kernel dropped, is not missed.
    """
    from watchfiles import awatch

    target = Path(path).resolve()
    seen = since if since is not None else file_signature(path)
    log.info("watching %s: it is reloaded when it changes", target)

    def only_target(_change: object, changed: str) -> bool:
        return Path(changed).resolve() == target

    async for _changes in awatch(
        target.parent,
        watch_filter=only_target,
        debounce=300,
        step=50,
        rust_timeout=1000,
        yield_on_timeout=True,
    ):
        now = file_signature(path)
        if now == seen:
            continue
        seen = now
        log.info("%s changed: reloading", target)
        on_change()


def file_signature(path: str | None) -> tuple[int, ...] | None:
    """(inode, size, mtime in ns) of ``path``; None when it cannot be read."""
    if not path:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def publish(gateway: Gateway) -> None:
    """Publish this worker's status figures (a failure is logged, not raised)."""
    from host.workers.status import publish as write

    if gateway.status_dir is None:
        return
    try:
        write(gateway, gateway.status_dir)
    except Exception:  # noqa: BLE001 - /status of the other workers goes stale, serving goes on
        log.exception("failed to publish the worker status to %s", gateway.status_dir)


async def _publish_every(gateway: Gateway, interval: float) -> None:
    while True:
        publish(gateway)
        await asyncio.sleep(interval)


def _pid() -> int:
    return os.getpid()
