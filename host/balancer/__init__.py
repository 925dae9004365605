"""Target selection for services that point at an Upstream entity.

This is the minimal balancer of the core: weighted round-robin over the upstream's
targets, skipping weight 0 and the targets already tried by this request.  The
algorithms, health checks and circuit breakers of the operations issue build on
this interface (``Balancer.pick(ctx, tried) -> (host, port) | None``).
"""

from __future__ import annotations

import itertools
import math
from functools import reduce
from typing import Any

__all__ = ["Balancer", "parse_target"]


def parse_target(target: str) -> tuple[str, int]:
    """``"10.0.0.1:8080"`` / ``"[::1]:80"`` / ``"host"`` -> (host, port); default port 8000."""
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif target.count(":") == 1:
        host, _, port = target.partition(":")
    else:
        host, port = target, ""
    return host, int(port) if port else 8000


class Balancer:
    """Weighted round-robin over one upstream's targets."""

    def __init__(self, upstream: dict[str, Any], targets: list[dict[str, Any]]) -> None:
        self.upstream = upstream
        self.targets = [t for t in targets if (t.get("weight") or 0) > 0]
        weights = [int(t["weight"]) for t in self.targets]
        gcd = reduce(math.gcd, weights) if weights else 1
        wheel: list[tuple[str, int]] = []
        # interleave by weight so consecutive picks spread over targets
        slots = {i: w // gcd for i, w in enumerate(weights)}
        while any(slots.values()):
            for i in list(slots):
                if slots[i]:
                    wheel.append(parse_target(self.targets[i]["target"]))
                    slots[i] -= 1
        self._wheel = wheel
        self._cycle = itertools.cycle(range(len(wheel))) if wheel else None

    def pick(self, ctx: Any, tried: set[tuple[str, int]]) -> tuple[str, int] | None:
        """The next target, preferring those not yet tried by this request; None without targets."""
        if self._cycle is None:
            return None
        first = None
        for _ in range(len(self._wheel)):
            addr = self._wheel[next(self._cycle)]
            if addr not in tried:
                return addr
            first = first or addr
        return first
