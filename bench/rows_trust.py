"""Benchmark rows of the trust levels: one simple Lua plugin at trusted, sandboxed, isolated.

The plugin is ``bench-lua-1`` (reads ``User-Agent``, sets one response header), copied
under three names so each row puts its copy at one level with ``plugin_trust``; the
``no plugins`` row to compare with is ``moongate``.  Run::

    python -m bench.run --rows moongate,moongate-lua-trusted,moongate-lua-sandboxed,moongate-lua-isolated

and compare the added CPU µs per request (``+cpu``) of each row: sandboxed should cost
at most 1.3x what trusted costs, isolated at most 3x (issue 4, point 7).  The rows run
one gateway process (``--workers 1``), so the isolated row's worker process is a child
of the measured process and its CPU is counted.

``plugin_trust`` only comes from the environment (no ``moongate start`` flag) and a row
cannot pass environment variables, so :func:`_setup` sets ``KONG_PLUGIN_TRUST`` in the
benchmark's own environment, which the gateways started after it inherit; it names
only this module's plugin copies, so other rows are unaffected.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.rowspec import RowSpec

__all__ = ["ROWS"]

SOURCE = Path(__file__).resolve().parent / "lua_plugins" / "bench-lua-1"
#: where the copies go (a row's arguments are fixed when the module loads)
PLUGINS = Path(tempfile.gettempdir()) / "moongate-bench-trust-plugins"
LEVELS = ("trusted", "sandboxed", "isolated")


def _name(level: str) -> str:
    return f"bench-trust-{level}"


def _setup(procs: Any, tmp: Path, up_port: int) -> dict[str, Any]:
    root = PLUGINS
    for level in LEVELS:
        folder = root / _name(level)
        if not folder.exists():
            shutil.copytree(SOURCE, folder)
            schema = (folder / "schema.lua").read_text().replace("bench-lua-1", _name(level))
            (folder / "schema.lua").write_text(schema)
    os.environ["KONG_PLUGIN_TRUST"] = ",".join(f"{_name(level)}:{level}" for level in LEVELS)
    return {}


def _config(level: str) -> Any:
    def config(up_port: int, tmp: Path, **_: Any) -> dict[str, Any]:
        return {
            "_format_version": "3.0",
            "services": [
                {
                    "name": "bench",
                    "url": f"http://127.0.0.1:{up_port}",
                    "routes": [{"name": "bench", "paths": ["/"]}],
                    "plugins": [{"name": _name(level)}],
                }
            ],
        }

    return config


def _row(level: str) -> RowSpec:
    return RowSpec(
        key=f"moongate-lua-{level}",
        label=f"moongate, 1 Lua plugin, {level}",
        config=_config(level),
        args=["--workers", "1", "--plugins-dir", str(PLUGINS)],
        setup=_setup,
    )


ROWS = [_row(level) for level in LEVELS]
