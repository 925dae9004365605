"""Per-target runtime state: health counters, the circuit breaker, load figures.

A :class:`TargetState` outlives snapshots: the per-gateway registry
(:mod:`host.balancer.health`) keeps one per (upstream id, target) and hands the same
object to every balancer built for that target, so health, breaker state, in-flight
counts and latency averages survive configuration reloads.

Health follows lua-resty-healthcheck (Kong's checker): one success counter and three
failure counters (TCP, HTTP, timeouts).  A success clears the failure counters, a
failure clears the success counter; when a counter reaches its configured limit the
target changes state and the counters start again.  A limit of 0 disables that
counter.  Reports that confirm the current state are not counted.

The circuit breaker is Moongate's addition (the upstream's ``circuit_breaker`` field):
after ``failures`` consecutive connection failures or timeouts the target is left out
for ``cooldown`` seconds, then one request is let through (half-open); a response
closes the breaker, another failure opens it again.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

__all__ = ["Checks", "TargetState", "DECAY_TIME"]

#: the latency algorithm's EWMA decay time in seconds (Kong's ``DECAY_TIME``)
DECAY_TIME = 10.0

_monotonic = time.monotonic
log = logging.getLogger("moongate.balancer")


class Checks:
    """One upstream's health-check and breaker settings, in the shape the states use."""

    __slots__ = (
        "active",
        "passive",
        "threshold",
        "active_on",
        "passive_on",
        "breaker_failures",
        "breaker_cooldown",
        "enabled",
    )

    def __init__(self, upstream: dict[str, Any]) -> None:
        hc = upstream.get("healthchecks") or {}
        self.active: dict[str, Any] = hc.get("active") or {}
        self.passive: dict[str, Any] = hc.get("passive") or {}
        self.threshold = float(hc.get("threshold") or 0)
        healthy = self.active.get("healthy") or {}
        unhealthy = self.active.get("unhealthy") or {}
        self.active_on = bool(healthy.get("interval") or unhealthy.get("interval"))
        punhealthy = self.passive.get("unhealthy") or {}
        # Kong's is_upstream_using_healthcheck
        self.passive_on = bool(
            punhealthy.get("tcp_failures") or punhealthy.get("timeouts") or punhealthy.get("http_failures")
        )
        breaker = upstream.get("circuit_breaker") or {}
        self.breaker_failures = int(breaker.get("failures") or 0)
        self.breaker_cooldown = float(breaker.get("cooldown") or 0)
        #: something watches the targets (health checks or the breaker)
        self.enabled = self.active_on or self.passive_on or self.breaker_failures > 0

    @property
    def healthchecks_on(self) -> bool:
        """Kong's rule for reporting ``HEALTHCHECKS_OFF``."""
        return self.active_on or self.passive_on


class TargetState:
    """What the gateway knows about one target of one upstream."""

    __slots__ = (
        "host",
        "port",
        "checks",
        "up",
        "healthy",
        "successes",
        "tcp_failures",
        "http_failures",
        "timeouts",
        "streak",
        "open_until",
        "probing",
        "inflight",
        "ewma",
        "ewma_at",
        "next_probe",
    )

    def __init__(self, host: str, port: int, checks: Checks) -> None:
        self.host = host
        self.port = port
        self.checks = checks
        #: usable for ordinary picks: healthy and the breaker closed
        self.up = True
        self.healthy = True
        self.successes = self.tcp_failures = self.http_failures = self.timeouts = 0
        self.streak = 0  # consecutive connection failures/timeouts (the breaker's count)
        self.open_until = 0.0  # > 0: the breaker is open (half-open once it has passed)
        self.probing = False  # the half-open probe request is in flight
        self.inflight = 0
        self.ewma = 0.0
        self.ewma_at = 0.0
        self.next_probe = 0.0  # active checks: when this target is probed next

    # -- health ------------------------------------------------------------------------------
    def set_healthy(self, healthy: bool) -> None:
        """Set the health state at once and clear the counters (a manual override too)."""
        if healthy != self.healthy:
            log.warning("target %s:%s is now %s", self.host, self.port, "healthy" if healthy else "unhealthy")
        self.healthy = healthy
        self.successes = self.tcp_failures = self.http_failures = self.timeouts = 0
        self.up = healthy and not self.open_until

    def _count(self, success: bool, counter: str, limit: int) -> None:
        if not limit:
            return  # this counter is disabled
        if success == self.healthy and not (
            self.successes if not success else self.tcp_failures or self.http_failures or self.timeouts
        ):
            return  # confirms a state no opposite report has shaken ("mostly" states do count)
        if success:
            self.tcp_failures = self.http_failures = self.timeouts = 0
        else:
            self.successes = 0
        value = getattr(self, counter) + 1
        setattr(self, counter, value)
        if value >= limit:
            self.set_healthy(success)

    def report_status(self, status: int, mode: str = "passive") -> None:
        """An HTTP status seen by a probe (``active``) or in proxied traffic (``passive``)."""
        checks = self.checks.active if mode == "active" else self.checks.passive
        healthy = checks.get("healthy") or {}
        unhealthy = checks.get("unhealthy") or {}
        if status in (healthy.get("http_statuses") or ()):
            self._count(True, "successes", healthy.get("successes") or 0)
        elif status in (unhealthy.get("http_statuses") or ()) or status == 0:
            self._count(False, "http_failures", unhealthy.get("http_failures") or 0)

    def report_success(self, mode: str = "active") -> None:
        """A probe that succeeded without a status to judge (TCP checks)."""
        checks = self.checks.active if mode == "active" else self.checks.passive
        self._count(True, "successes", (checks.get("healthy") or {}).get("successes") or 0)

    def report_tcp_failure(self, mode: str = "passive") -> None:
        checks = self.checks.active if mode == "active" else self.checks.passive
        self._count(False, "tcp_failures", (checks.get("unhealthy") or {}).get("tcp_failures") or 0)

    def report_timeout(self, mode: str = "passive") -> None:
        checks = self.checks.active if mode == "active" else self.checks.passive
        self._count(False, "timeouts", (checks.get("unhealthy") or {}).get("timeouts") or 0)

    # -- proxied traffic ---------------------------------------------------------------------
    def try_failed(self, timeout: bool) -> None:
        """A proxied try could not connect or timed out: passive counters and the breaker."""
        if timeout:
            self.report_timeout()
        else:
            self.report_tcp_failure()
        limit = self.checks.breaker_failures
        if limit:
            self.streak += 1
            if self.probing or self.streak >= limit:
                self.probing = False
                self.open_until = _monotonic() + self.checks.breaker_cooldown
                self.up = False

    def try_answered(self, status: int) -> None:
        """A proxied try received a response head with ``status``."""
        self.streak = 0
        if self.open_until:
            self.open_until = 0.0
            self.probing = False
            self.up = self.healthy
        if self.checks.passive_on or (self.checks.passive.get("healthy") or {}).get("successes"):
            self.report_status(status)

    def half_open(self) -> bool:
        """Whether a request may probe this target now (the breaker's cool-down is over)."""
        if not self.healthy or self.probing or not self.open_until or _monotonic() < self.open_until:
            return False
        self.probing = True
        return True

    @property
    def breaker(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        if not self.open_until:
            return "closed"
        return "half-open" if self.probing or _monotonic() >= self.open_until else "open"

    # -- latency -----------------------------------------------------------------------------
    def score_ewma(self, now: float) -> float:
        """The decayed response-time average (seconds), as the latency algorithm reads it."""
        td = now - self.ewma_at
        return self.ewma * math.exp(-td / DECAY_TIME) if td > 0 else self.ewma

    def record_latency(self, rtt: float, now: float) -> None:
        td = now - self.ewma_at
        weight = math.exp(-td / DECAY_TIME) if td > 0 else 1.0
        self.ewma = self.ewma * weight + rtt * (1.0 - weight)
        self.ewma_at = now
