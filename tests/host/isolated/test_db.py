"""``kong.db`` gives the same answers at every trust level, isolated workers included.

``db-reader`` (tests/lua_plugins/kong/plugins/db-reader/) reads the configuration with
``kong.db``: credentials given under consumers (``keyauth_credentials``, ``acls``), its
own ``daos.lua`` entity with a custom DAO method, consumers, services and routes
(``select``, ``select_by_*``, ``each``, ``page``, ``each_for_*``), Kong's DB-less
errors, and ``kong.cache`` over those lookups.  The same plugin runs ``trusted``,
``sandboxed`` and ``isolated`` behind a real gateway; every answer must be the same.
Without a question it authenticates the request with the tables ``kong.db`` returned,
and the bundled ``acl`` plugin (in the gateway) must see that consumer.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import aiohttp
import pytest

from host.config import load_data
from host.config.snapshot import Snapshot
from host.gateway import build_registry
from host.isolated.entities import SnapshotShipper, WorkerSnapshots
from host.isolated.protocol import FrameBuffer
from host.settings import Settings
from tests.conftest import RunningGateway, Upstream, service
from tests.host.lua.test_smoke import LUA_PLUGINS

LEVELS = ["trusted", "sandboxed", "isolated"]
ALICE = "a11ce000-0000-4000-8000-000000000001"
BOB = "b0b00000-0000-4000-8000-000000000002"
CAROL = "ca401000-0000-4000-8000-000000000003"
ALICE_KEY = "a11ce000-0000-4000-8000-0000000000a1"
BOB_KEY = "b0b00000-0000-4000-8000-0000000000b1"
DAVE_KEY = "da5e0000-0000-4000-8000-0000000000d1"


def config(upstream: Upstream, *, reloaded: bool = False) -> dict[str, Any]:
    """Three consumers with credentials, groups and notes; after a reload alice's key and
    bob are gone, dave is new and alice's note changed."""
    alice: dict[str, Any] = {
        "id": ALICE,
        "username": "alice",
        "acls": [{"group": "gold"}, {"group": "admins"}],
        "reader_notes": [
            {"name": "n1", "text": "edited" if reloaded else "hello"},
            {"name": "n2", "text": "second"},
        ],
    }
    if not reloaded:
        alice["keyauth_credentials"] = [{"id": ALICE_KEY, "key": "alice-key"}]
    bob = {
        "id": BOB,
        "username": "bob",
        "keyauth_credentials": [{"id": BOB_KEY, "key": "bob-key"}],
        "acls": [{"group": "silver"}],
    }
    dave = {
        "username": "dave",
        "keyauth_credentials": [{"id": DAVE_KEY, "key": "dave-key"}],
        "acls": [{"group": "gold"}],
    }
    routes = [
        {"name": "reader", "paths": ["/reader"], "plugins": [{"name": "db-reader"}]},
        {
            "name": "guarded",
            "paths": ["/guarded"],
            "plugins": [{"name": "db-reader"}, {"name": "acl", "config": {"allow": ["gold"]}}],
        },
        {"name": "plain", "paths": ["/plain"]},
    ]
    consumers = [alice, dave] if reloaded else [alice, bob, {"id": CAROL, "custom_id": "carol"}]
    return {
        "_format_version": "3.0",
        "consumers": consumers,
        "services": [{**service(upstream), "name": "echo", "routes": routes}],
    }


async def start(make_gateway: Any, upstream: Upstream, level: str) -> RunningGateway:
    return await make_gateway(config(upstream), plugins_dirs=[LUA_PLUGINS], plugin_trust={"db-reader": level})


async def ask(http: aiohttp.ClientSession, gw: RunningGateway, query: str) -> Any:
    async with http.get(f"{gw.url}/reader?q={query}") as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def guarded(http: aiohttp.ClientSession, gw: RunningGateway, key: str) -> tuple[int, Any, Any]:
    async with http.get(f"{gw.url}/guarded", headers={"apikey": key}) as resp:
        body = await resp.json()
        body.pop("request_id", None)  # kong.response.error adds it
        return resp.status, resp.headers.get("x-reader-credential"), body


WANTED = {
    "key&key=alice-key": {
        "found": True,
        "credential": ALICE_KEY,
        "username": "alice",
        "cache_key": "keyauth_credentials:alice-key:::::00000000-0000-0000-0000-000000000000",
    },
    "key&key=nope": {"found": False},
    "note&name=n1": {"found": True, "text": "hello", "consumer_notes": ["n1", "n2"]},
    "note&name=zz": {"found": False},
    "groups&user=alice": {"found": True, "id": ALICE, "groups": ["admins", "gold"]},
    "groups&user=bob": {"found": True, "id": BOB, "groups": ["silver"]},
    "groups&user=zed": {"found": False},
    "all": {
        "consumers": ["-", "alice", "bob"],
        "routes": ["guarded", "plain", "reader"],
        "notes": ["n1", "n2"],
        "services_page": 1,
        "services_next": "none",
    },
}


@pytest.mark.parametrize("level", LEVELS)
async def test_kong_db_answers_the_same_at_every_trust_level(make_gateway, echo_upstream, http, level):
    gw = await start(make_gateway, echo_upstream, level)
    answers = {query: await ask(http, gw, query) for query in WANTED}
    assert answers == WANTED
    errors = await ask(http, gw, "errors")
    assert errors == {
        "select": "[off] invalid primary key: '{id=\"expected a valid UUID\"}'",
        "insert": "[off] cannot create 'reader_notes' entities when not using a database",
        "missing": True,
    }


@pytest.mark.parametrize("level", LEVELS)
async def test_consumers_authenticated_with_kong_db_tables_reach_the_gateway(
    make_gateway, echo_upstream, http, level
):
    gw = await start(make_gateway, echo_upstream, level)
    status, credential, echo = await guarded(http, gw, "alice-key")
    assert (status, credential) == (200, ALICE_KEY)
    sent = {k.lower(): v for k, v in echo["headers"].items()}
    # db-reader's own header, then acl's: acl (in the gateway) saw alice's groups
    assert (sent["x-reader-consumer"], sent["x-consumer-groups"]) == ("alice", "gold, admins")
    assert (await guarded(http, gw, "bob-key"))[::2] == (403, {"message": "You cannot consume this service"})
    assert (await guarded(http, gw, "nope"))[::2] == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize("level", LEVELS)
async def test_a_reload_with_changed_credentials_is_seen(make_gateway, echo_upstream, http, level):
    gw = await start(make_gateway, echo_upstream, level)
    assert await ask(http, gw, "cached&key=alice-key") == {"credential": ALICE_KEY, "loads": 1}
    assert (await ask(http, gw, "cached&key=alice-key"))["loads"] == 1  # kong.cache answered
    assert (await guarded(http, gw, "dave-key"))[0] == 401
    gateway = gw.gateway
    await gateway.apply(
        load_data(config(echo_upstream, reloaded=True), gateway.registry, source="reload.yml")
    )
    assert await ask(http, gw, "cached&key=alice-key") == {"credential": False, "loads": 2}
    assert (await ask(http, gw, "key&key=dave-key"))["username"] == "dave"
    assert (await ask(http, gw, "note&name=n1"))["text"] == "edited"
    assert (await ask(http, gw, "all"))["consumers"] == ["alice", "dave"]
    assert (await guarded(http, gw, "dave-key"))[:2] == (200, DAVE_KEY)
    assert (await guarded(http, gw, "alice-key"))[0] == 401
    assert (await guarded(http, gw, "bob-key"))[0] == 401


async def test_isolated_workers_get_the_rows_once_per_configuration(make_gateway, echo_upstream, http):
    gw = await start(make_gateway, echo_upstream, "isolated")
    runtime = gw.gateway.registry.get("db-reader").extra["isolated"]
    for _ in range(5):
        assert (await ask(http, gw, "groups&user=bob"))["groups"] == ["silver"]
    pids = runtime.pids()
    assert runtime.shipper.encoded == 1 and len(pids) == 1 and pids[0] != os.getpid()
    gateway = gw.gateway
    await gateway.apply(
        load_data(config(echo_upstream, reloaded=True), gateway.registry, source="reload.yml")
    )
    for _ in range(5):
        assert (await ask(http, gw, "groups&user=dave"))["groups"] == ["gold"]
    # one more frame for the new configuration, the same worker process read it
    assert runtime.shipper.encoded == 2 and runtime.pids() == pids and runtime.restarts == 0


class _Worker:
    """What SnapshotShipper needs of a WorkerProcess: the numbers it holds, its frames."""

    def __init__(self) -> None:
        self.snapshots: OrderedDict[int, None] = OrderedDict()
        self.frames: list[bytes] = []
        self.last_snapshot, self.last_sid = None, None

    def post(self, frame: bytes) -> None:
        self.frames.append(frame)


def test_both_ends_keep_the_same_snapshots_across_reloads(echo_upstream):
    """A request that started before a reload reads the configuration it started with;
    a worker is sent each configuration once; the gateway and the worker drop the same
    old one (the worker's copy is rebuilt from the very frames the gateway sent)."""
    registry = build_registry(Settings(plugins_dirs=[str(LUA_PLUGINS)]))
    first, second, third = (
        Snapshot(load_data(config(echo_upstream, reloaded=r), registry, source="t.yml"), registry)
        for r in (False, True, False)
    )
    shipper, worker, kept, frames = SnapshotShipper("db-reader"), _Worker(), WorkerSnapshots(), FrameBuffer()
    sids = [shipper.ship(worker, snap) for snap in (first, first, second, first, third, second)]
    assert sids == [1, 1, 2, 1, 3, 2]  # the first one is still known when an old request asks
    assert len(worker.frames) == 3 and shipper.encoded == 3
    for message, _ in frames.feed(b"".join(worker.frames)):
        kept.add(message)
    assert list(worker.snapshots) == [2, 3]  # the same two as the worker keeps
    assert kept.get(1) is None and kept.get(None) is None
    assert kept.get(2).hash == second.hash and kept.get(3).hash == third.hash
    dave = kept.get(2).consumer_by_username("dave")
    assert dave is not None and kept.get(2).consumer_by_id(dave["id"]) == dave
    assert [c["key"] for c in kept.get(2).credentials("keyauth_credentials")] == ["dave-key"]
    assert [n["text"] for n in kept.get(3).credentials("reader_notes")] == ["hello", "second"]
