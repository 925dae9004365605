"""``GET /status``: Kong's fields, for one worker or aggregated over the workers of a supervisor.

Kong's answer (``kong/api/routes/health.lua``) has ``database.reachable``, ``server`` (nginx's
connection counters and ``total_requests``, summed over the workers), ``memory``
(``workers_lua_vms``: one ``{http_allocated_gc, pid}`` per worker; ``lua_shared_dicts``:
``{allocated_slabs, capacity}`` per dictionary) and ``configuration_hash``; memory figures
are strings in MiB with two decimals unless ``?unit=b|k|m|g`` and ``?scale=N`` say otherwise.

Moongate keeps its counters per process, so with several workers each one publishes its
figures to ``<prefix>/status/<pid>.json`` once a second (and right after start and after
each reload); the worker that answers adds the published figures of the other live workers
of the same supervisor to its own live ones.  Counters of the other workers are therefore
up to a second old.  Our additions: ``workers`` (pid, worker id, configuration hash and
counters of each worker: a reload can be seen reaching every worker), and the ``plugins``
block built by the gateway.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pdk.nginx import STATS

if TYPE_CHECKING:  # pragma: no cover
    from host.gateway import Gateway

__all__ = ["SERVER_FIELDS", "format_bytes", "publish", "status_body", "worker_entry"]

#: the ``server`` block, in Kong's order
SERVER_FIELDS = (
    "connections_accepted",
    "connections_active",
    "connections_handled",
    "connections_reading",
    "connections_writing",
    "connections_waiting",
    "total_requests",
)
_UNITS = {"k": (1024, "KiB"), "m": (1024**2, "MiB"), "g": (1024**3, "GiB")}
_DICTS_FN = "status.shared_dicts"
_DICTS_SRC = b"""
local shared = ...
local out = {}
for name, dict in pairs(shared) do
  out[name] = { dict:capacity(), dict:capacity() - dict:free_space() }
end
return out
"""


def format_bytes(n: int, unit: str = "m", scale: int = 2) -> int | str:
    """Kong's memory figures: bytes as a number for unit ``b``, else e.g. ``"0.42 MiB"``."""
    unit = unit.lower()
    if unit == "b":
        return int(n)
    if unit not in _UNITS:
        raise ValueError(f"invalid unit '{unit}' (expected 'b/B', 'k/K', 'm/M', or 'g/G')")
    factor, suffix = _UNITS[unit]
    return f"{n / factor:.{scale}f} {suffix}"


# -- this worker's figures ------------------------------------------------------------------------
def server_counters(gateway: Gateway) -> dict[str, int]:
    """This worker's connection counters: accepted/handled are counted as connections open,
    the others are read from the open connections of the proxy listeners now (``writing``:
    a request is being handled; ``reading``: a request was read and waits for its turn;
    ``waiting``: idle keep-alive connections)."""
    servers = [getattr(gateway, "_proxy_server", None)]
    if gateway._tls is not None:
        servers.append(gateway._tls.server)
    active = reading = writing = 0
    for server in servers:
        for conn in server.connections if server is not None else ():
            active += 1
            if getattr(conn, "_request_in_progress", False):
                writing += 1
            elif getattr(conn, "_messages", None):
                reading += 1
    return {
        "connections_accepted": STATS["connections_accepted"],
        "connections_active": active,
        "connections_handled": STATS["connections_handled"],
        "connections_reading": reading,
        "connections_writing": writing,
        "connections_waiting": active - reading - writing,
        "total_requests": STATS["total_requests"],
    }


def lua_memory(gateway: Gateway) -> int:
    """Bytes used by this worker's Lua runtimes (the worker's and the sandboxed plugins')."""
    from host.gateway import sandboxed_plugins

    total = 0
    hosts = [gateway.registry.lua] + [box.host for box in sandboxed_plugins(gateway.registry)]
    for host in hosts:
        if host is not None:
            with contextlib.suppress(Exception):  # a runtime without a memory limit cannot tell
                total += int(host.runtime.get_memory_used() or 0)
    return total


def shared_dicts(gateway: Gateway) -> dict[str, tuple[int, int]]:
    """``ngx.shared`` of this worker: name -> (bytes used, capacity)."""
    host = gateway.registry.lua
    if host is None:
        return {}
    fn = host.state.get(_DICTS_FN)
    if fn is None:
        fn = host.state[_DICTS_FN] = host.compile(_DICTS_SRC, "=status")
    zones = host.to_python(fn(host.require("moongate.ngx_shared")[b"shared"])) or {}
    return {name: (int(used), int(cap)) for name, (cap, used) in sorted(zones.items())}


def worker_entry(gateway: Gateway) -> dict[str, Any]:
    """What one worker publishes about itself."""
    return {
        "pid": os.getpid(),
        "master": os.getppid() if gateway.worker_id is not None else None,
        "worker_id": gateway.worker_id or 0,
        "configuration_hash": gateway.snapshot.hash,
        "server": server_counters(gateway),
        "lua_vm_bytes": lua_memory(gateway),
        "time": time.time(),
    }


def publish(gateway: Gateway, directory: Path) -> None:
    """Write this worker's figures to ``<directory>/<pid>.json`` (atomically: write, rename)."""
    entry = worker_entry(gateway)
    path = directory / f"{entry['pid']}.json"
    tmp = directory / f".{entry['pid']}.tmp"
    tmp.write_text(json.dumps(entry))
    tmp.replace(path)


def _peers(directory: Path, own: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The published figures of the other live workers of the same supervisor."""
    entries = []
    for path in directory.glob("*.json"):
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced, or removed with its worker
        pid = entry.get("pid")
        if pid == own["pid"] or entry.get("master") != own["master"] or not isinstance(pid, int):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        entries.append(entry)
    return entries


# -- the answer -----------------------------------------------------------------------------------
def status_body(gateway: Gateway, query: Mapping[str, str], plugins: dict[str, Any]) -> dict[str, Any]:
    """``GET /status``; ``ValueError`` for a bad ``unit``/``scale`` (the caller answers 400)."""
    unit = query.get("unit", "m")
    try:
        scale = int(query.get("scale", "2"))
    except ValueError:
        raise ValueError(f"invalid scale '{query.get('scale')}': expected a number")
    if not 0 <= scale <= 16:
        raise ValueError(f"invalid scale '{scale}': expected 0 to 16")
    format_bytes(0, unit, scale)  # refuse a bad unit before any work

    own = worker_entry(gateway)
    entries = [own]
    if gateway.status_dir is not None:
        entries += _peers(gateway.status_dir, own)
    entries.sort(key=lambda e: e["pid"])
    dicts = shared_dicts(gateway)
    return {
        "database": {"reachable": True},
        "server": {name: sum(int(e["server"].get(name, 0)) for e in entries) for name in SERVER_FIELDS},
        "memory": {
            "workers_lua_vms": [
                {"http_allocated_gc": format_bytes(e["lua_vm_bytes"], unit, scale), "pid": e["pid"]}
                for e in entries
            ],
            # per worker in Moongate (not shared memory): the answering worker's dictionaries
            "lua_shared_dicts": {
                name: {
                    "allocated_slabs": format_bytes(used, unit, scale),
                    "capacity": format_bytes(cap, unit, scale),
                }
                for name, (used, cap) in dicts.items()
            },
        },
        "configuration_hash": gateway.snapshot.hash,
        "workers": [
            {
                "pid": e["pid"],
                "worker_id": e["worker_id"],
                "configuration_hash": e["configuration_hash"],
                "total_requests": e["server"]["total_requests"],
                "connections_active": e["server"]["connections_active"],
            }
            for e in entries
        ],
        "plugins": plugins,
    }
