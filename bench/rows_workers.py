"""Benchmark row of ``moongate start --workers 2`` (no plugins), to compare with ``moongate``.

The row's process is the supervisor; ``bench/run.py`` adds its children (the two workers)
to the pids whose CPU time is counted, so "CPU µs/req" covers the whole gateway.

What this row can and cannot show on the benchmark machine: it has two cores, and
``bench/run.py`` pins every gateway to core 0 (wrk and the upstream to core 1).  The two
workers therefore share core 0 (``taskset`` affinity is inherited across ``fork``): the
row measures the cost of running two workers on one core (CPU per request, latency of
two event loops taking turns), not the scaling across cores.  Giving the workers both
cores would put them on wrk's and the upstream's core, so the ratio would measure the
contention with the load generator rather than the gateway; a scaling figure needs a
machine with at least three cores (two for the workers, one for wrk and the upstream).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.rowspec import RowSpec

__all__ = ["ROWS"]

#: the supervisor's prefix (pid file, worker status, Prometheus files), away from the repo's
PREFIX = Path(tempfile.gettempdir()) / "moongate-bench-workers"


def no_plugins(up_port: int, **_: Any) -> dict[str, Any]:
    """The "moongate" row's config: one service, one route, no plugins."""
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bench",
                "url": f"http://127.0.0.1:{up_port}",
                "routes": [{"name": "bench", "paths": ["/"]}],
            }
        ],
    }


ROWS = [
    RowSpec(
        "moongate-workers-2",
        "moongate --workers 2",
        no_plugins,
        args=["--workers", "2", "--prefix", str(PREFIX)],
    ),
]
