"""The per-gateway registry of target states and health checkers, and health reports.

Each gateway (identified by its plugin registry, which every snapshot of that gateway
is built with) has one :class:`HealthRegistry`.  Building a snapshot reconciles it
(:func:`build_balancers`): targets that stay keep their :class:`TargetState` (health,
circuit breaker, in-flight counts, latency), new targets start healthy, removed
targets and upstreams are forgotten, and each upstream with active checks has one
probe task (started with the first snapshot built in a running event loop, cancelled
when its upstream goes or its active checks are turned off).  :func:`close_health`
cancels every probe of a gateway: ``Gateway.stop`` calls it.

:func:`health_report` builds the body of Kong's ``GET /upstreams/{u}/health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import weakref
from typing import Any

from host.balancer import Address, Balancer, build_balancer, parse_target
from host.balancer.probes import probe_loop
from host.balancer.state import Checks, TargetState

__all__ = [
    "HealthRegistry",
    "UpstreamEntry",
    "build_balancers",
    "close_health",
    "health_registry",
    "health_report",
    "set_target_health",
]


class UpstreamEntry:
    """One upstream's checker: its settings, its targets' states and its probe task."""

    __slots__ = ("upstream", "checks", "states", "task")

    def __init__(self, upstream: dict[str, Any], checks: Checks) -> None:
        self.upstream = upstream
        self.checks = checks
        self.states: dict[str, TargetState] = {}
        self.task: asyncio.Task[None] | None = None


class HealthRegistry:
    """Target states by upstream id and target, reconciled with each new snapshot."""

    def __init__(self) -> None:
        self.entries: dict[str, UpstreamEntry] = {}

    def reconcile(
        self, upstreams: list[dict[str, Any]], targets: dict[str, list[dict[str, Any]]]
    ) -> dict[str, UpstreamEntry]:
        """Match the registry to a configuration; returns the entries by upstream id."""
        entries: dict[str, UpstreamEntry] = {}
        for upstream in upstreams:
            checks = Checks(upstream)
            entry = self.entries.get(upstream["id"])
            if entry is None:
                entry = UpstreamEntry(upstream, checks)
            entry.upstream, entry.checks = upstream, checks
            states: dict[str, TargetState] = {}
            for target in targets.get(upstream["id"], []):
                key = target["target"]
                state = entry.states.get(key)
                if state is None:
                    state = TargetState(*parse_target(key), checks)
                state.checks = checks
                _forget_disabled(state, checks)
                states[key] = state
            entry.states = states
            entries[upstream["id"]] = entry
        for upstream_id, entry in self.entries.items():
            if upstream_id not in entries:
                _stop(entry)
        self.entries = entries
        self.start()
        return entries

    def start(self) -> None:
        """Start the probe tasks that should run (needs a running event loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # the next snapshot built in the loop starts them
        for entry in self.entries.values():
            if entry.checks.active_on:
                if entry.task is None or entry.task.done():
                    entry.task = loop.create_task(probe_loop(entry))
            else:
                _stop(entry)

    async def close(self) -> None:
        """Cancel every probe task and wait for them to end."""
        tasks = [e.task for e in self.entries.values() if e.task is not None]
        for entry in self.entries.values():
            _stop(entry)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _stop(entry: UpstreamEntry) -> None:
    if entry.task is not None:
        entry.task.cancel()
        entry.task = None


def _forget_disabled(state: TargetState, checks: Checks) -> None:
    """A check turned off no longer holds its target out (Kong builds a fresh balancer)."""
    if not checks.healthchecks_on and not state.healthy:
        state.set_healthy(True)
    if not checks.breaker_failures and (state.open_until or state.streak):
        state.open_until, state.probing, state.streak = 0.0, False, 0
        state.up = state.healthy


_registries: weakref.WeakKeyDictionary[Any, HealthRegistry] = weakref.WeakKeyDictionary()


def health_registry(owner: Any) -> HealthRegistry:
    """The registry of a gateway, keyed by its plugin registry (made on first use)."""
    registry = _registries.get(owner)
    if registry is None:
        registry = _registries[owner] = HealthRegistry()
    return registry


async def close_health(owner: Any) -> None:
    """Stop the health checkers of a gateway (``Gateway.stop``)."""
    registry = _registries.pop(owner, None)
    if registry is not None:
        await registry.close()


def build_balancers(
    upstreams: list[dict[str, Any]], targets: list[dict[str, Any]], owner: Any
) -> dict[str, Balancer]:
    """One balancer per upstream name, over states reconciled in the owner's registry."""
    by_upstream: dict[str, list[dict[str, Any]]] = {}
    for t in targets:
        by_upstream.setdefault(t["upstream"]["id"], []).append(t)
    entries = health_registry(owner).reconcile(upstreams, by_upstream)
    balancers: dict[str, Balancer] = {}
    for upstream in upstreams:
        entry = entries[upstream["id"]]
        addresses = [Address(t, entry.states[t["target"]]) for t in by_upstream.get(upstream["id"], [])]
        balancers[upstream["name"]] = build_balancer(upstream, addresses, entry.checks)
    return balancers


def _find(snapshot: Any, name_or_id: str) -> dict[str, Any] | None:
    upstream = snapshot.upstreams.get(name_or_id)
    if upstream is None:
        upstream = next((u for u in snapshot.upstreams.values() if u["id"] == name_or_id), None)
    return upstream


def set_target_health(snapshot: Any, upstream_name_or_id: str, target: str, healthy: bool) -> bool:
    """Kong's ``PUT /upstreams/{u}/targets/{t}/healthy|unhealthy``: False when not found."""
    upstream = _find(snapshot, upstream_name_or_id)
    if upstream is None:
        return False
    for address in snapshot.balancers[upstream["name"]].all_addresses:
        if target in (address.target["target"], address.target["id"]):
            address.state.set_healthy(healthy)
            return True
    return False


def _dns_type(host: str) -> str:
    try:
        return "AAAA" if ipaddress.ip_address(host).version == 6 else "A"
    except ValueError:
        return "A"


def _address_health(address: Address, checks: Checks) -> str:
    if not checks.enabled:
        return "HEALTHCHECKS_OFF"
    return "HEALTHY" if address.state.up else "UNHEALTHY"


def _target_status(address: Address, checks: Checks) -> dict[str, Any]:
    weight = address.weight
    unavailable = 0 if address.state.up else weight
    item: dict[str, Any] = {
        "ip": address.host,
        "port": address.port,
        "weight": weight,
        "health": _address_health(address, checks),
    }
    if checks.breaker_failures:  # Moongate's extension
        item["circuit_breaker"] = address.state.breaker
    return {
        "host": address.host,
        "port": address.port,
        "dns": _dns_type(address.host),
        "nodeWeight": weight,
        "weight": {"total": weight, "unavailable": unavailable, "available": weight - unavailable},
        "addresses": [item],
    }


def health_report(
    snapshot: Any, upstream_name_or_id: str, *, balancer_health: bool = False, node_id: str | None = None
) -> dict[str, Any] | None:
    """The body of ``GET /upstreams/{u}/health[?balancer_health=1]``; None: no such upstream."""
    upstream = _find(snapshot, upstream_name_or_id)
    if upstream is None:
        return None
    balancer: Balancer = snapshot.balancers[upstream["name"]]
    checks = balancer.checks
    if balancer_health:
        data: dict[str, Any] = {"health": "HEALTHCHECKS_OFF", "id": upstream["id"]}
        if checks.enabled:
            available = balancer.available_weight()
            total = balancer.total_weight
            healthy = balancer.is_healthy()
            data["health"] = "HEALTHY" if healthy else "UNHEALTHY"
            data["details"] = {
                "healthy": healthy,
                "weight": {"total": total, "unavailable": total - available, "available": available},
                "hosts": [_target_status(a, checks) for a in balancer.addresses],
            }
        return {"data": data, "next": None, "node_id": node_id}
    items = []
    for address in balancer.addresses:  # Kong lists the targets with a weight above 0
        item = dict(address.target)
        item["health"] = _address_health(address, checks)
        item["data"] = _target_status(address, checks)
        items.append(item)
    return {"data": items, "next": None, "node_id": node_id}
