"""Helpers for the rate-limiting tests: configs and waiting away from window edges."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.conftest import service

PLUGINS = Path(__file__).parent / "plugins"


async def away_from_edge(window: int, margin: float = 3.0) -> None:
    """Sleep while the current ``window``-second window ends within ``margin`` seconds, so a
    test's requests all fall in one window."""
    left = window - time.time() % window
    if left < margin:
        await asyncio.sleep(left + 0.05)


def config(upstream: Any, plugin_config: dict[str, Any], **plugin: Any) -> dict[str, Any]:
    """One service with routes /a and /b and a global rate-limiting plugin."""
    return {
        "_format_version": "3.0",
        "consumers": [{"username": "alice"}, {"username": "bob"}],
        "services": [
            {**service(upstream), "routes": [{"name": "a", "paths": ["/a"]}, {"name": "b", "paths": ["/b"]}]}
        ],
        "plugins": [{"name": "rate-limiting", "config": plugin_config, **plugin}],
    }


async def statuses(gw: Any, path: str, n: int, **kwargs: Any) -> list[int]:
    """The statuses of ``n`` sequential GETs of ``path`` through ``gw`` (a gateway of the
    pytest plugin's ``gateway`` fixture)."""
    return [(await gw.get(path, **kwargs)).status for _ in range(n)]
