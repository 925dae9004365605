"""What ``moongate start`` and ``moongate reload`` share: worker count, durations, pid file, prefix.

Nothing here imports the gateway: ``moongate start --workers N`` calls
:func:`prepare_prefix` before anything imports ``prometheus_client`` (which reads
``PROMETHEUS_MULTIPROC_DIR`` once, at import).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "PID_FILE",
    "GatewayNotRunning",
    "parse_duration",
    "pid_file",
    "prepare_prefix",
    "read_pid",
    "resolve_workers",
]

#: the master's pid, relative to the prefix (Kong keeps nginx's in ``<prefix>/pids/nginx.pid``)
PID_FILE = "moongate.pid"

log = logging.getLogger("moongate.workers")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def resolve_workers(value: str | int | None) -> int:
    """``nginx_worker_processes``: a positive number, or ``auto``: the cores this process may
    run on (its CPU affinity, so a gateway started under ``taskset -c 0`` runs one worker)."""
    text = str(value if value is not None else "auto").strip().lower()
    if text == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"invalid worker count {value!r}: expected a positive number or 'auto'")
    return int(text)


def parse_duration(value: str | float | int) -> float:
    """Seconds from nginx's time syntax (``10s``, ``500ms``, ``1m``) or a plain number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"invalid duration {value!r}: expected e.g. 10s, 500ms or 1m")
    return float(match.group(1)) * _UNITS[match.group(2)]


# -- the pid file ----------------------------------------------------------------------------------
class GatewayNotRunning(Exception):
    """``moongate reload``/status tools: no gateway runs with this prefix (message says why)."""


@contextlib.contextmanager
def pid_file(prefix: str | Path) -> Iterator[Path]:
    """Write this process's pid to ``<prefix>/moongate.pid`` for the life of the block.

    A file naming another live process is replaced with a warning (two gateways sharing a
    prefix is an operator's mistake that Kong refuses; Moongate's tests start gateways side
    by side in one directory, so it only warns).  Removed at the end if it still holds
    this pid.
    """
    path = Path(prefix) / PID_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        other: int | None = read_pid(prefix)
    except GatewayNotRunning:
        other = None
    if other is not None and other != os.getpid():
        log.warning(
            "another gateway (pid %d) runs with prefix %s: %s now names this one", other, prefix, path
        )
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(f"{os.getpid()}\n")
    tmp.replace(path)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError, ValueError):
            if int(path.read_text().strip()) == os.getpid():
                path.unlink()


def read_pid(prefix: str | Path) -> int:
    """The pid of the gateway running with ``prefix``; :class:`GatewayNotRunning` saying why not."""
    path = Path(prefix) / PID_FILE
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise GatewayNotRunning(f"no gateway is running with prefix {prefix}: {path} not found")
    except OSError as err:
        raise GatewayNotRunning(f"cannot read {path}: {err.strerror}")
    if not text.isdigit():
        raise GatewayNotRunning(f"{path} does not hold a pid: {text[:40]!r}")
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise GatewayNotRunning(f"no gateway is running with prefix {prefix}: pid {pid} from {path} is gone")
    except PermissionError:
        pass  # it exists, owned by someone else: signalling it will say so
    return pid


# -- the prefix of a multi-worker run ---------------------------------------------------------------
def prepare_prefix(prefix: str | Path) -> tuple[Path, Path]:
    """``<prefix>/metrics/`` (``PROMETHEUS_MULTIPROC_DIR`` of the workers, set here in the
    environment they inherit) and ``<prefix>/status/`` (one file per worker), emptied of
    what processes that are gone left there; returns both.

    Only dead processes' files are removed, not the folders: a second gateway started by
    mistake with the same prefix must not pull the files from under the first one's workers.
    """
    root = Path(prefix).resolve()
    metrics, status = root / "metrics", root / "status"
    for directory in (metrics, status):
        directory.mkdir(parents=True, exist_ok=True)
        for entry in directory.iterdir():
            pid = _pid_in_name(entry.name)
            if pid is None or not _alive(pid):
                with contextlib.suppress(OSError):
                    entry.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    return metrics, status


def _pid_in_name(name: str) -> int | None:
    """``counter_123.db`` (prometheus_client), ``123.json`` (status) -> 123."""
    match = re.search(r"(\d+)\.(?:db|json)$", name)
    return int(match.group(1)) if match else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
