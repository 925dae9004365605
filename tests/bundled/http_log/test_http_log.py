"""http-log through a real gateway and a real log receiver: shape, batching, retries, bounds."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time

from py_plugins._logkit import dropped_entries
from tests.bundled.docs import example_config
from tests.bundled.http_log._receiver import receiver
from tests.conftest import free_port, service


def _config(upstream, plugin_config, **route):
    return {
        "_format_version": "3.0",
        "services": [
            {
                **service(upstream),
                "routes": [{"name": "r1", "paths": ["/api"], **route}],
                "plugins": [{"name": "http-log", "config": plugin_config}],
            }
        ],
    }


async def _get(gw, path, **kwargs):
    started = time.perf_counter()
    resp = await gw.get(path, **kwargs)
    return resp.status, time.perf_counter() - started


async def test_entry_has_kongs_shape_and_credentials_are_redacted(gateway, mock_upstream):
    async with receiver() as rec:
        gw = await gateway.start(_config(mock_upstream, {"http_endpoint": rec.url + "/logs"}))
        status, _ = await _get(
            gw, "/api/x?a=1&b=2", headers={"Authorization": "Bearer secret", "X-Trace": "t1"}
        )
        assert status == 200
        (got,) = await rec.wait_for(1)
    assert (got.method, got.path) == ("POST", "/logs")
    assert got.headers["Content-Type"] == "application/json"
    entry = json.loads(got.body)
    assert isinstance(entry, dict)  # max_batch_size 1: one object, not an array
    assert entry["request"]["method"] == "GET"
    assert entry["request"]["uri"] == "/api/x?a=1&b=2"
    assert entry["request"]["querystring"] == {"a": "1", "b": "2"}
    assert entry["request"]["headers"]["authorization"] == "REDACTED"
    assert entry["request"]["headers"]["x-trace"] == "t1"
    assert entry["response"]["status"] == 200
    assert entry["upstream_status"] == "200"
    assert entry["route"]["name"] == "r1"
    assert entry["service"]["name"] == "echo"
    assert entry["client_ip"] == "127.0.0.1"
    assert set(entry["latencies"]) == {"kong", "proxy", "request", "receive"}
    assert "consumer" not in entry  # nil in Kong's table: no key
    assert b"secret" not in got.body


async def test_batches_are_json_arrays(gateway, mock_upstream):
    queue = {"max_batch_size": 3, "max_coalescing_delay": 2}
    async with receiver() as rec:
        gw = await gateway.start(_config(mock_upstream, {"http_endpoint": rec.url, "queue": queue}))
        for i in range(3):
            await _get(gw, f"/api/{i}")
        (got,) = await rec.wait_for(1)
        await asyncio.sleep(0.2)
        assert len(rec.requests) == 1
    batch = json.loads(got.body)
    assert [e["request"]["uri"] for e in batch] == ["/api/0", "/api/1", "/api/2"]


async def test_coalescing_delay_sends_a_partial_batch(gateway, mock_upstream):
    queue = {"max_batch_size": 10, "max_coalescing_delay": 0.3}
    async with receiver() as rec:
        gw = await gateway.start(_config(mock_upstream, {"http_endpoint": rec.url, "queue": queue}))
        await _get(gw, "/api/a")
        await _get(gw, "/api/b")
        started = time.perf_counter()
        (got,) = await rec.wait_for(1)
        assert time.perf_counter() - started < 2
    assert len(json.loads(got.body)) == 2


async def test_method_content_type_headers_and_userinfo(gateway, mock_upstream):
    async with receiver() as rec:
        endpoint = rec.url.replace("http://", "http://bob:s3cret@") + "/in"
        conf = {
            "http_endpoint": endpoint,
            "method": "PUT",
            "content_type": "application/json; charset=utf-8",
            "headers": {"X-Api-Key": "k1"},
        }
        gw = await gateway.start(_config(mock_upstream, conf))
        await _get(gw, "/api")
        (got,) = await rec.wait_for(1)
    assert got.method == "PUT"
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    assert got.headers["X-Api-Key"] == "k1"
    assert got.headers["Authorization"] == "Basic " + base64.b64encode(b"bob:s3cret").decode()


async def test_failures_are_retried_with_backoff(gateway, mock_upstream):
    queue = {"initial_retry_delay": 0.05, "max_retry_delay": 1}
    async with receiver(statuses=[500, 503, 200]) as rec:
        gw = await gateway.start(_config(mock_upstream, {"http_endpoint": rec.url, "queue": queue}))
        await _get(gw, "/api")
        got = await rec.wait_for(3)
    assert len({r.body for r in got}) == 1  # the same entry, three times


async def test_gives_up_after_max_retry_time(gateway, mock_upstream, caplog):
    queue = {"initial_retry_delay": 0.05, "max_retry_time": 0.3}
    before = dropped_entries().get("http-log", 0)
    async with receiver(statuses=[500]) as rec:
        gw = await gateway.start(_config(mock_upstream, {"http_endpoint": rec.url, "queue": queue}))
        with caplog.at_level(logging.WARNING, logger="moongate.plugin"):
            await _get(gw, "/api")
            await asyncio.sleep(1.0)
        attempts = len(rec.requests)
    assert 2 <= attempts <= 6
    assert dropped_entries()["http-log"] == before + 1
    assert "giving up" in caplog.text and "returned status code 500" in caplog.text


async def test_slow_receiver_does_not_slow_clients(gateway, mock_upstream):
    async with receiver(delay=5.0) as rec:
        gw = await gateway.start(_config(mock_upstream, {"http_endpoint": rec.url}))
        await _get(gw, "/api")  # warm up
        latencies = []
        for _ in range(20):
            status, took = await _get(gw, "/api")
            assert status == 200
            latencies.append(took)
        await rec.wait_for(1)
    assert max(latencies) < 1.0, latencies  # the receiver takes 5 s per request


async def test_dead_receiver_does_not_fail_clients(gateway, mock_upstream):
    dead = f"http://127.0.0.1:{free_port()}/"
    gw = await gateway.start(_config(mock_upstream, {"http_endpoint": dead, "timeout": 500}))
    latencies = []
    for _ in range(20):
        status, took = await _get(gw, "/api")
        assert status == 200
        latencies.append(took)
    assert max(latencies) < 1.0, latencies


async def test_full_queue_drops_oldest_entries_counts_and_logs(gateway, mock_upstream, caplog):
    dead = f"http://127.0.0.1:{free_port()}/"
    queue = {"max_entries": 2, "initial_retry_delay": 5, "max_retry_time": 60}
    gw = await gateway.start(_config(mock_upstream, {"http_endpoint": dead, "queue": queue}))
    before = dropped_entries().get("http-log", 0)
    with caplog.at_level(logging.WARNING, logger="moongate.plugin"):
        for _ in range(10):
            assert (await _get(gw, "/api"))[0] == 200
    # one entry is being retried, two wait in the queue: the other seven were dropped
    assert dropped_entries()["http-log"] - before == 7
    assert "queue full" in caplog.text


async def test_custom_fields_by_lua(gateway, mock_upstream):
    fields = {
        "consumer_tier": "return 'gold'",
        "request.headers.x-who": "return kong.request.get_header('x-who') .. '!'",
        "route.extra.n": "return 40 + 2",
    }
    async with receiver() as rec:
        conf = {"http_endpoint": rec.url, "custom_fields_by_lua": fields}
        gw = await gateway.start(_config(mock_upstream, conf))
        await _get(gw, "/api", headers={"X-Who": "ann"})
        (got,) = await rec.wait_for(1)
    entry = json.loads(got.body)
    assert entry["consumer_tier"] == "gold"
    assert entry["request"]["headers"]["x-who"] == "ann!"
    assert entry["route"]["extra"] == {"n": 42}


async def test_custom_fields_run_in_the_sandbox(gateway, mock_upstream, caplog):
    async with receiver() as rec:
        conf = {"http_endpoint": rec.url, "custom_fields_by_lua": {"x": "return os.execute('id')"}}
        gw = await gateway.start(_config(mock_upstream, conf))
        with caplog.at_level(logging.ERROR):
            status, _ = await _get(gw, "/api")
            await asyncio.sleep(0.3)
        assert status == 200  # the log phase fails, never the client
        assert rec.requests == []
    assert "attempt to call field 'execute'" in caplog.text


async def test_custom_field_loop_is_stopped_by_the_cpu_budget(gateway, mock_upstream, caplog):
    async with receiver() as rec:
        conf = {"http_endpoint": rec.url, "custom_fields_by_lua": {"x": "while true do end"}}
        gw = await gateway.start(_config(mock_upstream, conf))
        with caplog.at_level(logging.ERROR):
            status, took = await _get(gw, "/api")
            await asyncio.sleep(0.3)
        assert status == 200 and took < 1.0
        status, _ = await _get(gw, "/api")  # the runtime still serves
        assert status == 200
    assert "CPU budget" in caplog.text


async def test_doc_example(gateway, mock_upstream):
    async with receiver() as rec:
        config = example_config("http-log", mock_upstream.url)
        for plugin in config["plugins"]:
            plugin["config"]["http_endpoint"] = rec.url + "/logs"
        gw = await gateway.start(config)
        resp = await gw.get("/demo", headers={"X-Client": "c1"})
        assert resp.status == 200
        (got,) = await rec.wait_for(1, timeout=5)
    entries = json.loads(got.body)
    assert entries[0]["request"]["uri"] == "/demo"
    assert entries[0]["client"] == "c1"


async def test_unlimited_concurrency_sends_each_entry_at_once(gateway, mock_upstream):
    queue = {"concurrency_limit": -1, "max_batch_size": 1}
    async with receiver(delay=0.5) as rec:
        gw = await gateway.start(_config(mock_upstream, {"http_endpoint": rec.url, "queue": queue}))
        for i in range(3):
            await _get(gw, f"/api/{i}")
        started = time.perf_counter()
        got = await rec.wait_for(3)
        # three deliveries in flight together: the receiver's 0.5 s waits overlap
        assert time.perf_counter() - started < 0.5
    assert sorted(json.loads(r.body)["request"]["uri"] for r in got) == ["/api/0", "/api/1", "/api/2"]
