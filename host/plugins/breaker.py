"""Circuit breakers per plugin instance: a plugin that keeps failing is taken out for a while.

Every violation of a plugin instance (an exception in any phase, a timeout, a memory
error, ...) is recorded with :meth:`Breaker.record`.  When ``threshold`` violations of
one instance (one plugin entity, by id) fall within ``window`` seconds, its breaker
opens for ``cooldown`` seconds: its handlers are not called.  What happens to the
requests that would have run it depends on ``mode``:

``fail-closed`` (the default)
    The request is answered ``503 {"message":"Service temporarily unavailable"}`` with
    ``Retry-After`` before any handler of its phase runs, when the open instance has a
    handler that can shape what the client gets (``rewrite``, ``access``, ``response``,
    ``header_filter``, ``body_filter``): an authentication plugin that is out never lets
    a request through unauthenticated, a plugin that strips response headers never lets
    them leak.  An instance with only a ``log`` handler is skipped (the client's
    response does not depend on it).
``fail-open``
    The instance is skipped and the request goes on without it.

After the cool-down the instance runs again on probation: one more violation within
``window`` seconds re-opens the breaker at once.  A ``threshold`` of 0 turns breakers off.

Cost: a request checks ``if breaker.open`` (an empty dict while nothing is open);
only when some breaker is open does it look at its own plugins, and the filtered
plugin lists are cached until the set of open breakers changes.  Nothing is recorded
for a handler that succeeds.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from host.plugins.iterator import Collected, PluginInstance

__all__ = ["Breaker", "OpenBreaker", "MODES", "GATING_PHASES"]

log = logging.getLogger("moongate.plugins")

MODES = ("fail-closed", "fail-open")
#: phases whose handlers can change what the client gets (an open instance with one of
#: them refuses the request in fail-closed mode)
GATING_PHASES = frozenset({"rewrite", "access", "response", "header_filter", "body_filter"})


@dataclass(slots=True)
class OpenBreaker:
    """One open breaker: which instance, why, and until when."""

    plugin: str
    plugin_id: str
    reason: str
    violations: int
    opened_at: float  # wall clock (seconds since the epoch)
    until: float  # wall clock
    until_mono: float  # monotonic clock, for the checks

    def status(self) -> dict[str, Any]:
        """What ``GET /status`` shows."""
        return {
            "plugin": self.plugin,
            "id": self.plugin_id,
            "reason": self.reason,
            "violations": self.violations,
            "opened_at": round(self.opened_at, 3),
            "until": round(self.until, 3),
        }


class Breaker:
    """The circuit breakers of one worker (one per plugin instance that failed)."""

    def __init__(
        self,
        threshold: int = 5,
        window: float = 10.0,
        cooldown: float = 30.0,
        mode: str = "fail-closed",
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"plugin_breaker_mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.threshold = threshold
        self.window = window
        self.cooldown = cooldown
        self.mode = mode
        self.fail_closed = mode == "fail-closed"
        self._clock = clock
        #: plugin id -> open breaker; empty while every plugin runs (the per-request check)
        self.open: dict[str, OpenBreaker] = {}
        #: plugin id -> the monotonic times of its latest violations (at most ``threshold``)
        self._recent: dict[str, deque[float]] = {}
        #: plugin id -> end of its probation after a cool-down
        self._probation: dict[str, float] = {}
        #: collected set -> (without the open instances, the open instances it held)
        self._split: dict[Collected, tuple[Collected, tuple[PluginInstance, ...]]] = {}

    @classmethod
    def from_settings(cls, settings: Any) -> Breaker:
        """The breaker the settings describe (``plugin_breaker_*``)."""
        return cls(
            settings.plugin_breaker_threshold,
            settings.plugin_breaker_window,
            settings.plugin_breaker_cooldown,
            settings.plugin_breaker_mode,
        )

    # -- violations -----------------------------------------------------------------------
    def record(self, plugin: str, plugin_id: str | None, reason: str) -> OpenBreaker | None:
        """Count one violation; returns the breaker when this one opened it."""
        if self.threshold <= 0 or not plugin_id or plugin_id in self.open:
            return None
        now = self._clock()
        recent = self._recent.get(plugin_id)
        if recent is None:
            recent = self._recent[plugin_id] = deque(maxlen=self.threshold)
        recent.append(now)
        on_probation = self._probation.get(plugin_id, 0.0) > now
        if not on_probation and (len(recent) < self.threshold or now - recent[0] > self.window):
            return None
        wall = time.time()
        opened = OpenBreaker(
            plugin, plugin_id, reason, len(recent), wall, wall + self.cooldown, now + self.cooldown
        )
        recent.clear()
        self._probation.pop(plugin_id, None)
        self.open[plugin_id] = opened
        self._split.clear()
        log.error(
            "circuit breaker opened for plugin '%s' (id %s) after %d violation(s) (last: %s): "
            "its handlers are skipped for %g s%s",
            plugin,
            plugin_id,
            opened.violations,
            reason,
            self.cooldown,
            ", requests that would run it get a 503" if self.fail_closed else "",
            extra={"plugin": plugin, "plugin_id": plugin_id, "reason": reason},
        )
        return opened

    def active(self) -> dict[str, OpenBreaker]:
        """The open breakers, after closing those whose cool-down is over."""
        open_ = self.open
        if open_:
            now = self._clock()
            for plugin_id, entry in list(open_.items()):
                if entry.until_mono <= now:
                    del open_[plugin_id]
                    self._probation[plugin_id] = now + self.window
                    self._split.clear()
                    log.log(
                        25,
                        "circuit breaker closed for plugin '%s' (id %s): it runs again, on probation",
                        entry.plugin,
                        plugin_id,
                        extra={"plugin": entry.plugin, "plugin_id": plugin_id},
                    )
        return open_

    # -- which plugins run ----------------------------------------------------------------
    def split(self, collected: Collected) -> tuple[Collected, tuple[PluginInstance, ...]]:
        """``collected`` without the open instances, and the open instances it held.

        Call after :meth:`active`; the result is cached until the open set changes.
        """
        found = self._split.get(collected)
        if found is None:
            open_ = self.open
            dropped = tuple(inst for inst in collected.instances if inst.id in open_)
            kept = Collected(i for i in collected.instances if i.id not in open_) if dropped else collected
            found = self._split[collected] = (kept, dropped)
        return found

    def blocking(self, dropped: tuple[PluginInstance, ...], phases: frozenset[str]) -> OpenBreaker | None:
        """In fail-closed mode, the open breaker (of ``dropped``) that refuses the request:
        the first instance with a handler in ``phases``."""
        if not self.fail_closed:
            return None
        for inst in dropped:
            if not phases.isdisjoint(inst.calls):
                return self.open.get(inst.id)
        return None

    def retry_after(self, entry: OpenBreaker) -> int:
        """Whole seconds until ``entry`` closes (the ``Retry-After`` value), at least 1."""
        return max(1, int(entry.until_mono - self._clock() + 0.999))

    def status(self) -> dict[str, Any]:
        """The breakers part of ``GET /status``."""
        return {
            "mode": self.mode,
            "threshold": self.threshold,
            "window": self.window,
            "cooldown": self.cooldown,
            "open": [entry.status() for entry in self.active().values()],
        }
