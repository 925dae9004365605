"""Admin API writes on a large configuration: fast, and still all-or-nothing.

A write validates the complete document again (one validator for files and the
Admin API); the validation cache (host/config/validation_cache.py) makes the
entities the write did not change cost no schema validation.  Times are CPU time of
this process (the gateway and the client share it), compared with a full load of
the same document in the same run, so the machine's load does not decide the result.
Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from host.config import load_data
from host.store.boot import storage_document

ROUTES = 1000


def _config() -> dict[str, Any]:
    services = [
        {
            "name": f"s{i}",
            "url": f"http://127.0.0.1:9/{i}",
            "routes": [
                {
                    "name": f"r{i}",
                    "paths": [f"/r{i}"],
                    "plugins": [{"name": "key-auth"}] if i % 10 == 0 else [],
                }
            ],
        }
        for i in range(ROUTES)
    ]
    consumers = [{"username": f"c{i}", "keyauth_credentials": [{"key": f"k{i}"}]} for i in range(100)]
    return {"_format_version": "3.0", "services": services, "consumers": consumers}


async def _json(resp: Any) -> Any:
    return await resp.json(content_type=None)


async def test_a_write_on_1000_routes_costs_far_less_than_a_full_load(make_admin, http) -> None:
    gw = await make_admin(_config())
    registry = gw.gateway.registry
    document = storage_document(gw.gateway.snapshot.config)
    full = []
    for _ in range(3):
        started = time.process_time()
        load_data(document, registry, source="admin")
        full.append(time.process_time() - started)

    writes = []
    walls = []
    for i in range(8):
        started, wall = time.process_time(), time.perf_counter()
        resp = await http.patch(f"{gw.admin}/routes/r{i}", json={"paths": [f"/moved{i}"]})
        assert resp.status == 200, await resp.text()
        writes.append(time.process_time() - started)
        walls.append(time.perf_counter() - wall)
    write_cpu = statistics.median(writes[1:])  # the first one fills the cache
    full_cpu = min(full)
    print(
        f"\n{ROUTES} routes: full load {full_cpu * 1000:.0f} ms CPU; PATCH write median "
        f"{write_cpu * 1000:.0f} ms CPU, {statistics.median(walls[1:]) * 1000:.0f} ms wall"
    )
    # the write includes a full load's other steps (references, uniqueness, snapshot,
    # store): without the cache it costs more than the full load, with it well under
    assert write_cpu < 0.8 * full_cpu
    assert gw.gateway.snapshot.router.match("GET", "", "/moved3", {}, 80, "http", None) is not None


async def test_cached_validations_keep_the_errors_and_all_or_nothing(make_admin, http) -> None:
    gw = await make_admin(_config())
    a = gw.admin
    before = gw.gateway.snapshot
    for _ in range(2):  # the second time the failed entity's validation is not the cached one
        resp = await http.patch(f"{a}/services/s1", json={"port": 70000, "host": 5})
        assert resp.status == 400
        body = await _json(resp)
        assert body["fields"] == {"host": "expected a string", "port": "value should be between 0 and 65535"}
        assert body["message"].startswith("2 schema violations (")
        assert gw.gateway.snapshot is before  # nothing applied
    resp = await http.post(f"{a}/services", json={"name": "s2", "host": "example.com"})
    assert resp.status == 409  # a unique conflict is still found across the whole document
    cache = gw.gateway.admin.state.validations
    hits, misses = cache.hits, cache.misses
    resp = await http.patch(f"{a}/services/s1", json={"port": 8080})
    assert resp.status == 200 and (await _json(resp))["port"] == 8080
    assert gw.gateway.snapshot.services[(await _json(resp))["id"]]["port"] == 8080
    assert cache.misses - misses == 1  # the changed service alone was validated
    assert cache.hits - hits > 2 * ROUTES
