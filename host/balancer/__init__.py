"""Target selection for services that point at an Upstream entity (Kong's ring balancer).

One :class:`Balancer` per upstream and snapshot, built by :func:`build_balancer` from
the upstream's algorithm: ``round-robin`` (smooth weighted), ``least-connections``,
``consistent-hashing`` (a ring of ``slots`` points) and ``latency`` (EWMA).  The
per-target state they read (health, circuit breaker, in-flight requests, latency) is
a :class:`~host.balancer.state.TargetState` kept by the gateway's registry
(:mod:`host.balancer.health`), so it survives reloads.

The proxy's protocol (``host/proxy/forward.py``): ``pick(ctx, tried) -> Address | None``
for each try, ``started(address)`` when it is sent, then ``failed(address, timeout)`` or
``answered(address, status, rtt)`` when the try ends; after ``answered``, ``finished(address)``
once the response was sent to the client (body included) or the request failed: a
connection counts as in flight (least-connections) until then, as in Kong's balancer.  ``None`` means no usable target: Kong's 503 "failure to get a
peer from the ring-balancer".
"""

from __future__ import annotations

from typing import Any

from host.balancer.state import Checks, TargetState

__all__ = ["Address", "Balancer", "build_balancer", "parse_target"]


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


class Address:
    """One target as a balancer sees it: where to connect, its weight and shared state."""

    __slots__ = ("host", "port", "hp", "weight", "target", "state")

    def __init__(self, target: dict[str, Any], state: TargetState) -> None:
        self.host, self.port = parse_target(target["target"])
        self.hp = (self.host, self.port)
        self.weight = int(target.get("weight") or 0)
        self.target = target
        self.state = state

    def __repr__(self) -> str:
        return f"<Address {self.host}:{self.port} w={self.weight} up={self.state.up}>"


class Balancer:
    """Base of the algorithms: the addresses, health threshold and try bookkeeping."""

    #: the algorithm reads in-flight counts or latencies: answered/failed always run
    observes = False

    def __init__(self, upstream: dict[str, Any], addresses: list[Address], checks: Checks) -> None:
        self.upstream = upstream
        self.all_addresses = addresses  # including weight 0 (reported, never picked)
        self.addresses = [a for a in addresses if a.weight > 0]
        self.checks = checks
        self.total_weight = sum(a.weight for a in self.addresses)
        # the try hooks matter when an algorithm or a check reads them
        self.observes = self.observes or checks.enabled
        self.hashed = False

    # -- picking ---------------------------------------------------------------------------
    def pick(self, ctx: Any, tried: set[tuple[str, int]]) -> Address | None:
        """The address for the next try; ``None`` when no target is usable."""
        raise NotImplementedError

    def _healthy_enough(self) -> bool:
        """Kong's balancer health: available weight above ``threshold`` percent."""
        threshold = self.checks.threshold
        if not threshold:
            return True
        total = self.total_weight
        available = sum(a.weight for a in self.addresses if a.state.up)
        return total > 0 and available * 100 / total > threshold

    def _scan(self, candidates: list[Address], tried: set[tuple[str, int]]) -> list[Address]:
        """The untried usable addresses among ``candidates`` (a half-open breaker's target
        alone when its probe is due), else the usable tried ones (retries may come back)."""
        fresh: list[Address] = []
        again: list[Address] = []
        for a in candidates:
            state = a.state
            if state.up:
                (again if a.hp in tried else fresh).append(a)
            elif a.hp not in tried and state.half_open():
                return [a]
        return fresh or again

    # -- try outcome -----------------------------------------------------------------------
    def started(self, address: Address) -> None:
        address.state.inflight += 1

    def failed(self, address: Address, timeout: bool) -> None:
        """The try on ``address`` failed to connect or timed out."""
        state = address.state
        state.inflight -= 1
        state.try_failed(timeout)

    def cancelled(self, address: Address) -> None:
        """The try on ``address`` was abandoned (the request task was cancelled): no longer
        in flight, nor the half-open breaker's probe; no verdict on the target."""
        state = address.state
        state.inflight -= 1
        state.probing = False

    def answered(self, address: Address, status: int, rtt: float) -> None:
        """The try on ``address`` got a response head after ``rtt`` seconds; the connection
        stays in flight until :meth:`finished`."""
        address.state.try_answered(status)

    def finished(self, address: Address) -> None:
        """The response from ``address`` was sent to the client (or the request failed
        after its head): the connection is no longer in flight."""
        address.state.inflight -= 1

    # -- reporting -------------------------------------------------------------------------
    def available_weight(self) -> int:
        return sum(a.weight for a in self.addresses if a.state.up)

    def is_healthy(self) -> bool:
        total = self.total_weight
        return total > 0 and self.available_weight() * 100 / total > self.checks.threshold


def build_balancer(upstream: dict[str, Any], addresses: list[Address], checks: Checks) -> Balancer:
    """The balancer of the upstream's ``algorithm``."""
    from host.balancer.algorithms import LatencyBalancer, LeastConnections, RoundRobin
    from host.balancer.hashing import ConsistentHashing

    kinds: dict[str, type[Balancer]] = {
        "round-robin": RoundRobin,
        "least-connections": LeastConnections,
        "consistent-hashing": ConsistentHashing,
        "latency": LatencyBalancer,
    }
    kind = kinds.get(upstream.get("algorithm") or "round-robin", RoundRobin)
    return kind(upstream, addresses, checks)
