"""The ``round-robin``, ``least-connections`` and ``latency`` algorithms.

* ``round-robin``: smooth weighted round-robin (nginx's: each pick adds every weight to
  its address's current value and takes the largest, which then pays back the total),
  computed once per snapshot into a wheel, so a pick is one step on the wheel.  Each
  balancer starts at a random place so that workers do not move in step.  Addresses
  that are down are stepped over; a target whose circuit breaker's cool-down is over
  gets its single half-open probe when the wheel reaches it.
* ``least-connections``: the lowest ``(in-flight tries + 1) / weight`` wins (Kong's
  heap key); equal scores take turns.  In-flight counts a try from the moment it is sent
  until its response was fully sent to the client (body streamed) or the request failed,
  so long downloads weigh as they do in Kong.
* ``latency``: Kong's EWMA of the response time (head received), decaying over 10 s;
  of two addresses drawn at random the lower ``ewma / weight`` wins.  A target without
  a measurement yet starts at the average of the others.

All of them skip the addresses this request already tried while others remain.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from functools import reduce
from typing import Any

from host.balancer import Address, Balancer
from host.balancer.state import Checks

__all__ = ["RoundRobin", "LeastConnections", "LatencyBalancer", "smooth_wheel"]

#: a wheel longer than this is built from weights scaled down to fit
_MAX_WHEEL = 10000
#: the latency algorithm compares this many random candidates (Kong's PICK_SET_SIZE)
_PICK_SET_SIZE = 2


def smooth_wheel(weights: list[int]) -> list[int]:
    """The order of nginx's smooth weighted round-robin over one full period, as indexes."""
    if not weights:
        return []
    gcd = reduce(math.gcd, weights)
    reduced = [w // gcd for w in weights]
    total = sum(reduced)
    if total > _MAX_WHEEL:
        reduced = [max(1, round(w * _MAX_WHEEL / total)) for w in reduced]
        total = sum(reduced)
    current = [0] * len(reduced)
    order: list[int] = []
    for _ in range(total):
        best = 0
        for i, w in enumerate(reduced):
            current[i] += w
            if current[i] > current[best]:
                best = i
        current[best] -= total
        order.append(best)
    return order


class RoundRobin(Balancer):
    """Smooth weighted round-robin over a precomputed wheel."""

    def __init__(self, upstream: dict[str, Any], addresses: list[Address], checks: Checks) -> None:
        super().__init__(upstream, addresses, checks)
        live = self.addresses
        self._wheel = [live[i] for i in smooth_wheel([a.weight for a in live])]
        start = random.randrange(len(self._wheel)) if self._wheel else 0
        rotated = self._wheel[start:] + self._wheel[:start]
        self._next = itertools.cycle(rotated).__next__ if rotated else None

    def pick(self, ctx: Any, tried: set[tuple[str, int]]) -> Address | None:
        step = self._next
        if step is None or (self.checks.threshold and not self._healthy_enough()):
            return None
        again = None
        for _ in range(len(self._wheel)):
            a = step()
            if a.state.up:
                if a.hp not in tried:
                    return a
                if again is None:
                    again = a
            elif a.hp not in tried and a.state.half_open():
                return a
        return again


class LeastConnections(Balancer):
    """The address with the fewest in-flight tries per unit of weight."""

    observes = True

    def __init__(self, upstream: dict[str, Any], addresses: list[Address], checks: Checks) -> None:
        super().__init__(upstream, addresses, checks)
        self._turn = 0

    def pick(self, ctx: Any, tried: set[tuple[str, int]]) -> Address | None:
        if not self.addresses or (self.checks.threshold and not self._healthy_enough()):
            return None
        candidates = self._scan(self.addresses, tried)
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        n = len(candidates)
        self._turn = turn = (self._turn + 1) % n
        best = None
        best_score = math.inf
        for k in range(n):  # start at a rotating place: equal scores take turns
            a = candidates[(turn + k) % n]
            score = (a.state.inflight + 1) / a.weight
            if score < best_score:
                best, best_score = a, score
        return best


class LatencyBalancer(Balancer):
    """Kong's ``latency`` algorithm: the lower EWMA of two random candidates."""

    observes = True

    def __init__(self, upstream: dict[str, Any], addresses: list[Address], checks: Checks) -> None:
        super().__init__(upstream, addresses, checks)
        measured = [a.state for a in self.addresses if a.state.ewma_at]
        if measured:  # slow start: new targets begin at the average of the others
            now = measured[0].ewma_at
            average = sum(s.ewma for s in measured) / len(measured)
            for a in self.addresses:
                if not a.state.ewma_at:
                    a.state.ewma = average
                    a.state.ewma_at = now

    def pick(self, ctx: Any, tried: set[tuple[str, int]]) -> Address | None:
        if not self.addresses or (self.checks.threshold and not self._healthy_enough()):
            return None
        candidates = self._scan(self.addresses, tried)
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        now = time.monotonic()
        drawn = random.sample(candidates, min(_PICK_SET_SIZE, len(candidates)))
        return min(drawn, key=lambda a: a.state.score_ewma(now) / a.weight)

    def answered(self, address: Address, status: int, rtt: float) -> None:
        super().answered(address, status, rtt)
        address.state.record_latency(rtt, time.monotonic())
