"""Benchmark rows of the balancer: a service on an upstream of three nginx targets, with
``round-robin``, ``least-connections`` and ``consistent-hashing`` (on the client IP),
to compare with ``moongate`` (a plain service URL, no balancer).

The bench's own nginx upstream is the first target; ``setup`` starts two more nginx
upstreams (same template, on the load core) once per run, shared by the three rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.rowspec import RowSpec

__all__ = ["ROWS"]

#: per bench run (its temporary directory): the ports of the two extra nginx upstreams
_EXTRA: dict[str, list[int]] = {}


def _extra_upstreams(procs: Any, tmp: Path, up_port: int) -> dict[str, Any]:
    """Start two more nginx upstreams for the run (once); their ports for ``config``."""
    from bench import run  # here: bench.run imports this module while it loads

    ports = _EXTRA.get(str(tmp))
    if ports is None:
        ports = []
        for i in (2, 3):
            port = run.free_port()
            run.start_nginx(procs, run.NGINX_UPSTREAM, tmp, f"upstream{i}", run.LOAD_CORE, port=port)
            run.wait_port(port)
            ports.append(port)
        _EXTRA[str(tmp)] = ports
    return {"extra_ports": ports}


def _config(up_port: int, extra_ports: list[int], **upstream: Any) -> dict[str, Any]:
    targets = [{"target": f"127.0.0.1:{p}"} for p in (up_port, *extra_ports)]
    return {
        "_format_version": "3.0",
        "services": [{"name": "bench", "host": "pool", "routes": [{"name": "bench", "paths": ["/"]}]}],
        "upstreams": [{"name": "pool", **upstream, "targets": targets}],
    }


def round_robin(up_port: int, extra_ports: list[int], **_: Any) -> dict[str, Any]:
    """Three targets, weighted round-robin (the default)."""
    return _config(up_port, extra_ports, algorithm="round-robin")


def least_connections(up_port: int, extra_ports: list[int], **_: Any) -> dict[str, Any]:
    """Three targets, least-connections."""
    return _config(up_port, extra_ports, algorithm="least-connections")


def consistent_hashing(up_port: int, extra_ports: list[int], **_: Any) -> dict[str, Any]:
    """Three targets, consistent-hashing on the client IP (wrk's requests share one key)."""
    return _config(up_port, extra_ports, hash_on="ip")


ROWS = [
    RowSpec("lb-round-robin", "moongate, lb round-robin (3)", round_robin, setup=_extra_upstreams),
    RowSpec(
        "lb-least-connections",
        "moongate, lb least-conn (3)",
        least_connections,
        setup=_extra_upstreams,
    ),
    RowSpec(
        "lb-consistent-hashing",
        "moongate, lb consistent-hash (3)",
        consistent_hashing,
        setup=_extra_upstreams,
    ),
]
