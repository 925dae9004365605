"""Benchmark rows declared outside ``bench/run.py``: one ``bench/rows_<area>.py`` per area.

Each such module defines ``ROWS: list[RowSpec]``.  A row is one gateway process with its
own declarative config (built from the upstream's port), optional extra ``moongate
start`` arguments, optional request headers for wrk (``"apikey: k1"``), and an optional
``setup`` that starts what the row needs besides the gateway (a Redis server, a log
receiver, more upstreams) with ``procs.start(cmd, core)`` so that it is stopped at the
end; ``setup`` returns values merged into the keyword arguments of ``config``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RowSpec", "discover_rows"]


@dataclass
class RowSpec:
    """A benchmark row: ``config(up_port=..., tmp=..., **setup_values) -> declarative dict``."""

    key: str
    label: str
    config: Callable[..., dict[str, Any]]
    headers: list[str] = field(default_factory=list)
    path: str = "/"
    args: list[str] = field(default_factory=list)
    setup: Callable[..., dict[str, Any]] | None = None  # setup(procs=, tmp=, up_port=) -> values


def discover_rows() -> dict[str, RowSpec]:
    """Every ``RowSpec`` of the ``bench/rows_*.py`` modules, by key, in module order."""
    rows: dict[str, RowSpec] = {}
    here = Path(__file__).resolve().parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if info.name.startswith("rows_"):
            module = importlib.import_module(f"bench.{info.name}")
            for spec in getattr(module, "ROWS", []):
                rows[spec.key] = spec
    return rows
