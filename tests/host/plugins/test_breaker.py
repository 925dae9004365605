"""Circuit breakers per plugin instance: unit rules with a fake clock, then through real requests."""

from __future__ import annotations

import asyncio
import sys

import pytest

from host.plugins.breaker import GATING_PHASES, Breaker
from host.plugins.iterator import Collected, make_instance
from host.plugins.spec import PluginSpec
from tests.conftest import TEST_PLUGINS, service
from tests.host.plugins._faults import FAULT_PLUGINS, GENERIC_500, metric_samples, raw_get

BREAKER_503 = "Service temporarily unavailable"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _instance(name: str, plugin_id: str, *phases: str):
    spec = PluginSpec(name, "1.0.0", 1, "python", "test", None, handlers={p: print for p in phases})
    return make_instance(spec, {"id": plugin_id, "config": {}})


# -- the rules -----------------------------------------------------------------------------------


def test_threshold_violations_within_the_window_open_the_breaker() -> None:
    clock = Clock()
    breaker = Breaker(threshold=3, window=10, cooldown=30, clock=clock)
    for _ in range(2):
        assert breaker.record("p", "id-1", "error") is None
        clock.now += 6
    # three violations, but spread over 12 s: the oldest is out of the window
    assert breaker.record("p", "id-1", "error") is None
    assert breaker.active() == {}
    clock.now += 1
    opened = breaker.record("p", "id-1", "timeout")  # 3 within 7 s
    assert opened is not None and (opened.plugin, opened.reason, opened.violations) == ("p", "timeout", 3)
    assert list(breaker.active()) == ["id-1"]
    assert breaker.retry_after(opened) == 30
    assert breaker.record("p", "id-2", "error") is None  # other instances count apart


def test_after_the_cooldown_one_violation_on_probation_reopens() -> None:
    clock = Clock()
    breaker = Breaker(threshold=2, window=10, cooldown=30, clock=clock)
    breaker.record("p", "id", "error")
    assert breaker.record("p", "id", "error") is not None
    clock.now += 29.5
    assert "id" in breaker.active()
    clock.now += 0.5
    assert breaker.active() == {}  # closed: the plugin runs again
    assert breaker.record("p", "id", "error") is not None  # on probation: at once
    clock.now += 30
    assert breaker.active() == {}  # closed again, on probation for one window
    clock.now += 11
    assert breaker.record("p", "id", "error") is None  # probation over: back to the threshold


def test_threshold_zero_turns_breakers_off_and_modes_are_checked() -> None:
    breaker = Breaker(threshold=0)
    for _ in range(100):
        assert breaker.record("p", "id", "error") is None
    with pytest.raises(ValueError, match="plugin_breaker_mode must be one of fail-closed, fail-open"):
        Breaker(mode="closed")


@pytest.mark.parametrize("mode", ["fail-closed", "fail-open"])
def test_open_instances_are_left_out_and_only_gating_ones_refuse(mode) -> None:
    auth = _instance("auth", "a", "access")
    logger = _instance("logger", "l", "log")
    other = _instance("other", "o", "access", "log")
    collected = Collected([auth, logger, other])
    breaker = Breaker(threshold=1, mode=mode)
    breaker.record("logger", "l", "error")
    kept, dropped = breaker.split(collected)
    assert kept.instances == (auth, other) and dropped == (logger,)
    assert breaker.split(collected)[0] is kept  # cached until the open set changes
    assert breaker.blocking(dropped, GATING_PHASES) is None  # a log-only plugin never refuses
    breaker.record("auth", "a", "error")
    kept, dropped = breaker.split(collected)
    assert kept.instances == (other,) and "access" in kept.calls
    refusing = breaker.blocking(dropped, GATING_PHASES)
    assert (refusing.plugin if refusing else None) == ("auth" if mode == "fail-closed" else None)


# -- through real requests -------------------------------------------------------------------------


async def _gateway(make_gateway, echo_upstream, routes, *, plugins=(), consumers=(), **settings):
    config = {
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": routes}],
        "plugins": list(plugins),
        "consumers": list(consumers),
    }
    return await make_gateway(config, plugins_dirs=[FAULT_PLUGINS, TEST_PLUGINS], **settings)


def _route(name, *plugins):
    return {"name": name, "paths": [f"/{name}"], "plugins": list(plugins)}


async def _statuses(port, path, n, headers=None):
    return [(await raw_get(port, path, headers)).status for _ in range(n)]


async def test_fail_closed_answers_503_until_the_cooldown_then_probation(
    make_gateway, echo_upstream, http, caplog
):
    caplog.set_level(25, logger="moongate.plugins")  # notice: the breaker closing
    routes = [
        _route("auth", {"name": "fault-raise"}, {"name": "tagger", "config": {"tag": "auth"}}),
        _route("ok", {"name": "tagger", "config": {"tag": "ok"}}),
    ]
    gw = await _gateway(
        make_gateway, echo_upstream, routes, plugin_breaker_threshold=3, plugin_breaker_cooldown=1
    )
    port = gw.gateway.proxy_port
    assert await _statuses(port, "/auth", 3) == [500] * 3
    refused = await raw_get(port, "/auth")
    assert refused.status == 503
    assert refused.json() == {"message": BREAKER_503, "request_id": refused.headers["x-kong-request-id"]}
    assert refused.headers["retry-after"] == "1"
    assert "x-tag" not in refused.headers  # no access handler ran for it
    ok = await raw_get(port, "/ok")
    assert ok.status == 200 and ok.headers["x-tag"] == "ok"  # other routes are untouched

    async with http.get(gw.status_url + "/status") as resp:
        breakers = (await resp.json())["plugins"]["breakers"]
    route_id = next(r["id"] for r in gw.gateway.snapshot.config.routes if r["name"] == "auth")
    (entry,) = breakers["open"]
    assert breakers["mode"] == "fail-closed" and breakers["threshold"] == 3
    assert (entry["plugin"], entry["reason"], entry["violations"], entry["route"]) == (
        "fault-raise",
        "error",
        3,
        route_id,
    )
    assert 0 < entry["until"] - entry["opened_at"] <= 1.001
    assert any("circuit breaker opened for plugin 'fault-raise'" in r.getMessage() for r in caplog.records)

    samples = await metric_samples(http, gw.status_url)
    label = (("plugin", "fault-raise"),)
    assert samples[("kong_plugin_breaker_trips_total", label)] == 1
    assert samples[("kong_plugin_breaker_rejections_total", label)] == 1
    assert samples[("kong_plugin_breakers_open", label)] == 1

    await asyncio.sleep(1.05)  # the cool-down is over: the plugin runs again, on probation
    assert await _statuses(port, "/auth", 2) == [500, 503]
    assert any("circuit breaker closed for plugin 'fault-raise'" in r.getMessage() for r in caplog.records)
    samples = await metric_samples(http, gw.status_url)
    assert samples[("kong_plugin_breaker_trips_total", label)] == 2


async def test_fail_open_skips_the_instance_in_every_phase(make_gateway, echo_upstream, http):
    routes = [_route("auth", {"name": "fault-raise"}, {"name": "tagger", "config": {"tag": "auth"}})]
    gw = await _gateway(
        make_gateway, echo_upstream, routes, plugin_breaker_threshold=2, plugin_breaker_mode="fail-open"
    )
    port = gw.gateway.proxy_port
    calls = sys.modules["moongate_plugins.fault_raise"].CALLS
    assert await _statuses(port, "/auth", 2) == [500, 500]
    calls.clear()
    resp = await raw_get(port, "/auth/x")
    assert resp.status == 200 and resp.headers["x-tag"] == "auth"  # the others still run
    assert resp.json()["path"] == "/x"  # proxied
    await asyncio.sleep(0.05)  # past the log phase
    assert calls == []  # rewrite to log: none of its handlers ran


async def test_a_log_only_plugin_is_skipped_even_fail_closed(make_gateway, echo_upstream, http):
    gw = await _gateway(
        make_gateway, echo_upstream, [_route("logged", {"name": "fault-log"})], plugin_breaker_threshold=2
    )
    port = gw.gateway.proxy_port
    calls = sys.modules["moongate_plugins.fault_log"].CALLS
    calls.clear()
    assert await _statuses(port, "/logged", 4) == [200] * 4  # the client never depends on it
    await asyncio.sleep(0.05)
    assert calls == ["log", "log"]  # skipped once its breaker opened
    samples = await metric_samples(http, gw.status_url)
    assert (
        samples[
            ("kong_plugin_errors_total", (("phase", "log"), ("plugin", "fault-log"), ("reason", "error")))
        ]
        == 2
    )


async def test_a_consumer_scoped_instance_refuses_only_its_consumer(make_gateway, echo_upstream):
    consumers = [
        {"username": "alice", "plugins": [{"name": "fault-raise"}]},
        {"username": "bob"},
    ]
    gw = await _gateway(
        make_gateway,
        echo_upstream,
        [_route("shop")],
        plugins=[{"name": "auth-header"}],
        consumers=consumers,
        plugin_breaker_threshold=2,
    )
    port = gw.gateway.proxy_port
    alice, bob = {"X-Consumer": "alice"}, {"X-Consumer": "bob"}
    assert await _statuses(port, "/shop", 3, alice) == [500, 500, 503]
    assert await _statuses(port, "/shop", 2, bob) == [200, 200]


@pytest.mark.parametrize(("mode", "after"), [("fail-closed", 503), ("fail-open", 200)])
async def test_a_global_plugin_failing_in_rewrite(make_gateway, echo_upstream, mode, after):
    gw = await _gateway(
        make_gateway,
        echo_upstream,
        [_route("ok")],
        plugins=[{"name": "fault-raise", "config": {"phase": "rewrite"}}],
        plugin_breaker_threshold=2,
        plugin_breaker_mode=mode,
    )
    port = gw.gateway.proxy_port
    first = await raw_get(port, "/ok")
    assert first.status == 500 and first.json()["message"] == GENERIC_500
    assert await _statuses(port, "/ok", 2) == [500, after]
    assert (await raw_get(port, "/nowhere")).status == (503 if mode == "fail-closed" else 404)
