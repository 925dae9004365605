"""``kong.client.authenticate`` from Lua without converting entity tables.

Auth plugins authenticate with tables they read from ``kong.db``/``kong.cache`` or
``kong.client.load_consumer``: copies of the snapshot's own entities.  Converting
those tables back to Python on every request was most of an auth plugin's cost.  So
``moongate.db`` remembers, for each entity table it hands out, the entity's reference
(``"consumers:<id>"``) and the row it was copied from; ``moongate.kong``'s
``authenticate`` sends the reference instead of the table when the table still equals
its row (compared in Lua), and this module finds the entity in the request's snapshot.
A table a plugin built or changed still crosses whole, as before.

``Context.auth_serial`` counts authentications in a request: the Lua side keeps the
tables it authenticated with and answers ``kong.client.get_consumer()`` with them (the
very tables, as Kong does) while the serial is unchanged, without a crossing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.context import current_context
from pdk import client
from pdk.phases import ACCESS

if TYPE_CHECKING:  # pragma: no cover
    from host.config.snapshot import Snapshot

_ACCESS = int(ACCESS)  # a plain int: `int & IntFlag` runs the enum's Python-level __rand__

__all__ = ["entity_by_ref", "helpers"]

#: the attribute of a Snapshot holding its {entity name: {id: row}} indexes (made on use)
_INDEX_ATTR = "_lua_entity_refs"


def entity_by_ref(snapshot: Snapshot | None, ref: str) -> dict[str, Any] | None:
    """The snapshot's entity for ``"<entity name>:<id>"``, or None."""
    if snapshot is None:
        return None
    name, _, pk = ref.partition(":")
    if name == "consumers":
        return snapshot.consumer_by_id(pk)
    indexes = snapshot.__dict__.get(_INDEX_ATTR)
    if indexes is None:
        indexes = snapshot.__dict__[_INDEX_ATTR] = {}
    index = indexes.get(name)
    if index is None:
        index = indexes[name] = {row["id"]: row for row in snapshot.credentials(name) if "id" in row}
    return index.get(pk)


def helpers(wrap: Callable[[Callable[..., Any], str], Callable[..., Any]]) -> dict[bytes, Callable[..., Any]]:
    """The bridge functions ``moongate.kong`` builds ``kong.client.authenticate`` from.

    ``wrap`` is the bridge's :func:`~host.lua.bridge.lua_function` for one runtime
    (argument conversion, Kong's error conventions).
    """

    def authenticate_tables(consumer: Any = None, credential: Any = None) -> int:
        client.authenticate(consumer, credential)  # checks the phase and the arguments
        return current_context().auth_serial  # type: ignore[no-any-return]

    def authenticate_refs(consumer_ref: Any = None, credential_ref: Any = None) -> Any:
        ctx = current_context()
        consumer = credential = None
        if consumer_ref is not None:
            consumer = entity_by_ref(ctx.snapshot, consumer_ref)
            if consumer is None:
                return False  # gone from the configuration: the tables cross instead
        if credential_ref is not None:
            credential = entity_by_ref(ctx.snapshot, credential_ref)
            if credential is None:
                return False
        if not ctx.phase & _ACCESS:
            client.authenticate(consumer, credential)  # raises the phase error
        # the snapshot's own entities, copied when someone reads them (pdk/client.py)
        ctx.consumer = consumer
        ctx.credential = credential
        ctx.auth_shared = True
        ctx.auth_serial += 1
        return ctx.auth_serial

    def auth_serial() -> int:
        return current_context().auth_serial  # type: ignore[no-any-return]

    return {
        b"authenticate_tables": wrap(authenticate_tables, "kong.client.authenticate"),
        b"authenticate_refs": wrap(authenticate_refs, "kong.client.authenticate"),
        b"auth_serial": auth_serial,
    }
