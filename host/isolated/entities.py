"""The configuration's entities in an isolated worker: what ``kong.db`` reads there.

In the gateway, ``kong.db.<entity>`` (``host/lua/modules/moongate_db.py``) reads the rows
of the request's :class:`~host.config.snapshot.Snapshot`: core entities from
``snapshot.config``, credentials and the entities plugins declare in ``daos.lua`` from
``snapshot.credentials(name)``.  A worker process has no snapshot of its own, so the
gateway ships one:

* :class:`SnapshotShipper` (gateway side) encodes a snapshot's rows into one
  ``snapshot`` frame the first time a worker serves a request of that configuration
  (once per configuration version and worker, never per request; the encoded frame is
  shared by the pool's workers) and tags each call with the snapshot's number (``"s"``);
* :class:`WorkerSnapshot` (worker side) is built from that frame and set as the
  request context's ``snapshot``: it answers what the PDK asks a snapshot (``hash``,
  ``config.<entity>``, ``credentials()``, the consumer lookups, ``has_upstream``), so
  ``kong.db``, ``kong.cache`` (keyed by the configuration hash),
  ``kong.client.load_consumer`` and ``kong.client.authenticate`` with entity tables
  behave as in the gateway.

Both ends keep the last :data:`KEPT` snapshots, in the same order, so a request that
started before a reload keeps reading the configuration it started with.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from host.config.model import CORE_ENTITIES, DeclarativeConfig
from host.config.snapshot import EntityLookups
from host.isolated.protocol import MAX_FRAME, pack

__all__ = ["KEPT", "SnapshotShipper", "WorkerSnapshot", "WorkerSnapshots"]

log = logging.getLogger("moongate.isolated")

#: snapshots a worker keeps (the current one and the one before a reload)
KEPT = 2


def _frame(sid: int, snapshot: Any) -> bytes:
    """The ``snapshot`` frame of ``snapshot`` (no reply expected)."""
    config = snapshot.config
    return pack(
        {
            "op": "snapshot",
            "sid": sid,
            "hash": snapshot.hash,
            "source": config.source,
            "core": {name: getattr(config, name) for name in CORE_ENTITIES},
            "credentials": config.credentials,
        }
    )


class SnapshotShipper:
    """Gateway side: numbers snapshots and encodes each one once for a pool."""

    def __init__(self, name: str) -> None:
        self.name = name
        #: (snapshot, number, frame) of the last KEPT snapshots the pool served
        self._recent: list[tuple[Any, int, bytes]] = []
        self._sid = 0
        #: frames encoded (one per configuration version the pool served)
        self.encoded = 0

    def current(self, snapshot: Any) -> tuple[int, bytes]:
        """(number, frame) of ``snapshot``: encoded on its first request only (an empty
        frame when it is too big to ship: the worker then sees no rows)."""
        for known, sid, frame in self._recent:
            if known is snapshot:
                return sid, frame
        self._sid += 1
        frame = _frame(self._sid, snapshot)
        self.encoded += 1
        if len(frame) > MAX_FRAME:
            log.error(
                "isolated plugin '%s': the configuration's entities (%d bytes) exceed a frame's "
                "%d bytes: kong.db has no rows in its workers",
                self.name,
                len(frame),
                MAX_FRAME,
            )
            frame = b""
        self._recent.insert(0, (snapshot, self._sid, frame))
        del self._recent[KEPT:]
        return self._sid, frame

    def ship(self, worker: Any, snapshot: Any) -> int | None:
        """Queue ``snapshot``'s frame on ``worker`` unless it holds it; the number the
        call names (None when the snapshot cannot be shipped)."""
        sid, frame = self.current(snapshot)
        if not frame:
            number = None
        else:
            number = sid
            held: OrderedDict[int, None] = worker.snapshots
            if sid not in held:
                worker.post(frame)
                held[sid] = None
                while len(held) > KEPT:  # the worker drops the same one (WorkerSnapshots.add)
                    held.popitem(last=False)
        # the next call with this snapshot skips the lookup (runtime.py); set only here,
        # after the frame was queued, so the worker holds it
        worker.last_snapshot, worker.last_sid = snapshot, number
        return number


class WorkerSnapshot(EntityLookups):
    """Worker side: the rows of one configuration, with the snapshot's lookups."""

    def __init__(self, message: dict[str, Any]) -> None:
        core = message.get("core") or {}
        self.hash: str = str(message.get("hash") or "")
        self.config = DeclarativeConfig(
            source=str(message.get("source") or "<gateway>"),
            credentials=dict(message.get("credentials") or {}),
            **{name: list(core.get(name) or ()) for name in CORE_ENTITIES},
        )
        super().__init__(self.config)


class WorkerSnapshots:
    """Worker side: the last :data:`KEPT` snapshots the gateway shipped, by number."""

    def __init__(self) -> None:
        self._by_sid: OrderedDict[int, WorkerSnapshot] = OrderedDict()

    def add(self, message: dict[str, Any]) -> None:
        """A ``snapshot`` frame arrived."""
        by_sid = self._by_sid
        by_sid[int(message["sid"])] = WorkerSnapshot(message)
        while len(by_sid) > KEPT:
            by_sid.popitem(last=False)

    def get(self, sid: Any) -> WorkerSnapshot | None:
        """The snapshot a call names (None: the call names none, or an unknown one)."""
        return self._by_sid.get(sid) if sid is not None else None
