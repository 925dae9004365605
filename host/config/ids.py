"""Deterministic entity ids, so that reloading the same file gives the same ids.

As in Kong's declarative loader, a missing id is a UUIDv5 whose namespace is the
UUIDv5 of the entity name under the root ``fd02801f-0957-4a15-a55a-c8d9606f30b5``
and whose name is:

* for entities with a cache key, ``"<entity>:*:<part>:<part>..."`` (plugins:
  name, route, service, consumer; targets: upstream, target; acls: consumer,
  group; credentials: their key or username);
* otherwise the endpoint key when it is set (service, route or upstream name,
  consumer username, SNI name);
* otherwise (Moongate; Kong uses a random UUID) the entity's own fields without
  its secrets, references included as ids; identical entities are numbered in
  file order (``#1``, ``#2``).

Moongate differs from Kong in one detail: foreign keys in a cache key are always
the referenced entity's **id** (Kong uses the string written in the file), so a
plugin gets the same id whether it is nested in its service or refers to it by
name.  Secret fields (key-auth keys, passwords, private keys) never feed an id:
an id is public and must not allow guessing a secret offline.
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from typing import Any

__all__ = ["ROOT_NAMESPACE", "entity_id", "cache_key_name", "content_key_name"]

ROOT_NAMESPACE = uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5")


@cache
def _namespace(entity: str) -> uuid.UUID:
    return uuid.uuid5(ROOT_NAMESPACE, entity)


def entity_id(entity: str, name: str) -> str:
    """The UUIDv5 of ``name`` in the namespace of ``entity``."""
    return str(uuid.uuid5(_namespace(entity), name))


def cache_key_name(entity: str, parts: list[str]) -> str:
    """Kong's best-effort cache key: ``<entity>:*:<parts joined by ':'>`` (``*`` is the workspace)."""
    return ":".join([entity, "*", *parts])


def content_key_name(entity: str, fields: dict[str, Any], secret: tuple[str, ...]) -> str:
    """A name derived from the entity's own non-secret fields (references as ids), for entities without a natural key."""
    public = {k: v for k, v in fields.items() if k not in secret and k != "id"}
    canonical = json.dumps(public, sort_keys=True, separators=(",", ":"), default=str)
    return f"{entity}#{canonical}"
