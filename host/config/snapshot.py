"""The immutable runtime view of one configuration: router, plugins, lookups.

A :class:`Snapshot` is built from a validated :class:`DeclarativeConfig` and the
plugin registry, completely, before it is swapped in; in-flight requests keep the
snapshot they started with (``ctx.snapshot``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from host.balancer import Balancer
from host.balancer.health import build_balancers
from host.config.model import DeclarativeConfig
from host.plugins.iterator import PluginIterator
from host.plugins.spec import PluginRegistry
from host.router import Router

__all__ = ["Snapshot", "EntityLookups"]


class EntityLookups:
    """A configuration's entities indexed for the PDK (the gateway's :class:`Snapshot`
    and an isolated worker's copy of it share these lookups)."""

    def __init__(self, config: DeclarativeConfig) -> None:
        self.config = config
        self.services: dict[str, dict[str, Any]] = {s["id"]: s for s in config.services}
        self.routes: dict[str, dict[str, Any]] = {r["id"]: r for r in config.routes}
        self.upstreams: dict[str, dict[str, Any]] = {u["name"]: u for u in config.upstreams}
        self._consumers_by_id = {c["id"]: c for c in config.consumers}
        self._consumers_by_username = {c["username"]: c for c in config.consumers if c.get("username")}
        self._consumers_by_custom_id = {c["custom_id"]: c for c in config.consumers if c.get("custom_id")}

    def has_upstream(self, name: str) -> bool:
        return name in self.upstreams

    def consumer_by_id(self, consumer_id: str) -> dict[str, Any] | None:
        return self._consumers_by_id.get(consumer_id)

    def consumer_by_username(self, username: str) -> dict[str, Any] | None:
        return self._consumers_by_username.get(username)

    def consumer_by_custom_id(self, custom_id: str) -> dict[str, Any] | None:
        return self._consumers_by_custom_id.get(custom_id)

    def credentials(self, entity: str) -> list[dict[str, Any]]:
        """The entities of a plugin entity type: a credential (``keyauth_credentials``) or
        one a plugin declares in its daos.lua; empty for an unknown name."""
        return self.config.credentials.get(entity, [])


class Snapshot(EntityLookups):
    """Everything a request needs from the configuration, indexed once."""

    def __init__(self, config: DeclarativeConfig, registry: PluginRegistry) -> None:
        super().__init__(config)
        self.registry = registry
        self.router = Router(config.routes, self.services)
        self.plugins = PluginIterator(config.plugins, registry)
        # target health, breakers and load figures live in the gateway's registry (keyed
        # by its plugin registry), so they survive reloads; see host/balancer/health.py
        self.balancers: dict[str, Balancer] = build_balancers(config.upstreams, config.targets, registry)
        self.hash = config_hash(config)



def config_hash(config: DeclarativeConfig) -> str:
    """The ``configuration_hash`` of ``/status``: md5 of the entities as sorted-key JSON
    (values JSON cannot hold written as strings); one serialization, no round trip."""
    text = orjson.dumps(_stable(config), default=str, option=orjson.OPT_SORT_KEYS)
    return hashlib.md5(text, usedforsecurity=False).hexdigest()


def _stable(config: DeclarativeConfig) -> dict[str, Any]:
    data = {
        "services": config.services,
        "routes": config.routes,
        "consumers": config.consumers,
        "plugins": config.plugins,
        "upstreams": config.upstreams,
        "targets": config.targets,
        "credentials": config.credentials,
        "certificates": config.certificates,
        "snis": config.snis,
        "ca_certificates": config.ca_certificates,
    }
    return data
