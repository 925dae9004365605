"""The validated, flattened result of loading a declarative configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DeclarativeConfig", "CREDENTIAL_ENTITIES", "CORE_ENTITIES"]

#: core entity collections, in dependency order (parents before children)
CORE_ENTITIES: tuple[str, ...] = (
    "consumers",
    "certificates",
    "ca_certificates",
    "services",
    "routes",
    "snis",
    "upstreams",
    "targets",
    "plugins",
)

#: credential entities Moongate defines for the auth plugins (Kong's plugin ``daos.lua``)
CREDENTIAL_ENTITIES: tuple[str, ...] = (
    "keyauth_credentials",
    "basicauth_credentials",
    "jwt_secrets",
    "acls",
    "hmacauth_credentials",
    "oauth2_credentials",
)


@dataclass(frozen=True)
class DeclarativeConfig:
    """Every entity of one declarative file, flat, in Kong's shape.

    Each entity is a dict with all of its schema fields present (``None`` when
    unset), foreign keys as ``{"id": ...}`` or ``None``, and defaults filled in.
    Lists keep the order of the file (a parent before the entities nested in it).
    """

    source: str
    services: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    consumers: list[dict[str, Any]] = field(default_factory=list)
    plugins: list[dict[str, Any]] = field(default_factory=list)
    upstreams: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    certificates: list[dict[str, Any]] = field(default_factory=list)
    snis: list[dict[str, Any]] = field(default_factory=list)
    ca_certificates: list[dict[str, Any]] = field(default_factory=list)
    #: plugin entity name -> entities: every name of CREDENTIAL_ENTITIES, then the
    #: entities the loaded plugins declare in their daos.lua (``my_tokens``, ...)
    credentials: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def entity_counts(self) -> dict[str, int]:
        """Number of entities per collection: core entities, credentials, then the
        entities plugins declare."""
        counts = {name: len(getattr(self, name)) for name in CORE_ENTITIES}
        for name in (*CREDENTIAL_ENTITIES, *self.credentials):
            counts[name] = len(self.credentials.get(name, ()))
        return counts
