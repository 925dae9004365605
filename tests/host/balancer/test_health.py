"""Health state, the registry across snapshots, active probes and Kong's health report."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import trustme
from aiohttp import web

from host.balancer.health import close_health, health_registry, health_report, set_target_health
from host.balancer.state import Checks, TargetState
from host.config import load_data
from host.config.snapshot import Snapshot
from host.plugins.spec import PluginRegistry
from tests.conftest import wait_until
from tests.host.balancer.conftest import Server, ServerFactory


def snapshot(registry: PluginRegistry, upstreams: list[dict[str, Any]]) -> Snapshot:
    config = load_data({"_format_version": "3.0", "upstreams": upstreams}, registry, source="t.yml")
    return Snapshot(config, registry)


def state(**healthchecks: Any) -> TargetState:
    registry = PluginRegistry()
    config = load_data(
        {"_format_version": "3.0", "upstreams": [{"name": "u", "healthchecks": healthchecks}]},
        registry,
        source="t.yml",
    )
    return TargetState("127.0.0.1", 1, Checks(config.upstreams[0]))


class TestCounters:
    def test_failures_of_one_kind_must_follow_each_other(self) -> None:
        s = state(passive={"unhealthy": {"tcp_failures": 2, "http_failures": 2}, "healthy": {"successes": 2}})
        s.try_failed(timeout=False)
        s.report_status(200)  # a success clears the failure counters
        s.try_failed(timeout=False)
        assert s.healthy
        s.try_failed(timeout=False)
        assert not s.healthy and not s.up
        s.report_status(500)  # confirms the state: not counted
        s.report_status(200)
        assert not s.healthy
        s.report_status(201)
        assert s.healthy and s.up

    def test_statuses_outside_both_lists_are_ignored_and_zero_disables(self) -> None:
        s = state(passive={"unhealthy": {"http_failures": 1}})
        s.report_status(404)  # neither healthy nor unhealthy by default
        assert s.healthy
        s.try_failed(timeout=True)  # timeouts: limit 0, not counted
        assert s.healthy
        s.report_status(503)
        assert not s.healthy


class TestBreaker:
    def breaker(self) -> TargetState:
        s = state()
        s.checks.breaker_failures, s.checks.breaker_cooldown = 2, 0.05
        return s

    async def test_opens_lets_one_probe_through_and_closes(self) -> None:
        s = self.breaker()
        s.try_failed(timeout=False)
        s.try_answered(502)  # any response resets the count
        s.try_failed(timeout=True)
        assert s.up and s.breaker == "closed"
        s.try_failed(timeout=False)
        assert not s.up and s.breaker == "open" and not s.half_open()
        await asyncio.sleep(0.06)
        assert s.half_open() and s.breaker == "half-open"
        assert not s.half_open()  # a single probe at a time
        s.try_failed(timeout=False)  # the probe failed: open again for a cool-down
        assert s.breaker == "open" and not s.half_open()
        await asyncio.sleep(0.06)
        assert s.half_open()
        s.try_answered(200)
        assert s.up and s.breaker == "closed"

    def test_health_and_breaker_combine(self) -> None:
        s = self.breaker()
        s.set_healthy(False)
        s.try_failed(timeout=False)
        s.try_failed(timeout=False)
        s.open_until = 1.0  # cool-down long over, but the target is unhealthy: no probe
        assert not s.half_open() and not s.up


class TestRegistry:
    async def test_state_survives_a_reload_for_targets_that_stay(self) -> None:
        registry = PluginRegistry()
        up = {"name": "u", "healthchecks": {"passive": {"unhealthy": {"tcp_failures": 1}}}}
        first = snapshot(
            registry, [{**up, "targets": [{"target": "10.0.0.1:80"}, {"target": "10.0.0.2:80"}]}]
        )
        a, b = first.balancers["u"].addresses
        a.state.try_failed(timeout=False)
        assert not a.state.healthy
        second = snapshot(
            registry, [{**up, "targets": [{"target": "10.0.0.1:80"}, {"target": "10.0.0.3:80"}]}]
        )
        a2, c2 = second.balancers["u"].addresses
        assert a2.state is a.state and not a2.state.healthy
        assert c2.state.healthy and c2.state is not b.state
        # checks turned off: the target is back
        third = snapshot(registry, [{"name": "u", "targets": [{"target": "10.0.0.1:80"}]}])
        assert third.balancers["u"].addresses[0].state.up
        await close_health(registry)

    async def test_probe_tasks_follow_the_config_and_stop(self, servers: ServerFactory) -> None:
        (server,) = await servers(1)
        registry = PluginRegistry()
        up = {
            "name": "u",
            "targets": [{"target": server.target}],
            "healthchecks": {"active": {"http_path": "/health", "healthy": {"interval": 0.05}}},
        }
        snapshot(registry, [up])
        entry = health_registry(registry).entries[next(iter(health_registry(registry).entries))]
        task = entry.task
        assert task is not None
        await wait_until(lambda: server.probes >= 2)
        snapshot(registry, [{**up, "name": "v"}])  # "u" removed: its probes stop
        await asyncio.sleep(0)
        assert task.cancelled() or task.done()
        assert len([e for e in health_registry(registry).entries.values() if e.task]) == 1
        await close_health(registry)
        count = server.probes
        await asyncio.sleep(0.2)
        assert server.probes == count


def _active(server: Server, **over: Any) -> dict[str, Any]:
    active = {
        "http_path": "/health",
        "timeout": 0.5,
        "healthy": {"interval": 0.05, "successes": 2},
        "unhealthy": {"interval": 0.05, "http_failures": 2, "tcp_failures": 2, "timeouts": 2},
    }
    active.update(over)
    return {"name": "u", "targets": [{"target": server.target}], "healthchecks": {"active": active}}


class TestActiveChecks:
    async def test_http_probes_take_a_target_out_and_back(self, servers: ServerFactory) -> None:
        (server,) = await servers(1)
        registry = PluginRegistry()
        snap = snapshot(registry, [_active(server, headers={"X-Probe": ["yes"]})])
        target = snap.balancers["u"].addresses[0].state
        server.health_status = 500
        await wait_until(lambda: not target.healthy, timeout=5)
        assert snap.balancers["u"].pick(_Ctx(), set()) is None
        server.health_status = 200
        await wait_until(lambda: target.healthy, timeout=5)
        await close_health(registry)

    async def test_a_dead_port_counts_tcp_failures(self, servers: ServerFactory) -> None:
        (server,) = await servers(1)
        registry = PluginRegistry()
        snap = snapshot(registry, [_active(server)])
        target = snap.balancers["u"].addresses[0].state
        await server.stop()
        await wait_until(lambda: not target.healthy, timeout=5)
        await server.start(server.port)
        await wait_until(lambda: target.healthy, timeout=5)
        await close_health(registry)

    async def test_https_probes_verify_the_certificate(self, tmp_path: Any) -> None:
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        app = web.Application()
        app.router.add_get("/health", _ok)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        port = runner.addresses[0][1]
        registry = PluginRegistry()
        server = Server()
        server.port = port
        # verification on: the test CA is unknown, the handshake fails (TCP failures)
        snap = snapshot(registry, [_active(server, type="https")])
        target = snap.balancers["u"].addresses[0].state
        await wait_until(lambda: not target.healthy, timeout=5)
        # verification off: healthy again
        snap = snapshot(registry, [_active(server, type="https", https_verify_certificate=False)])
        await wait_until(lambda: target.healthy, timeout=5)
        await close_health(registry)
        await runner.cleanup()


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


class _Ctx:
    extra: dict[str, Any] = {}


class TestReport:
    def test_kong_shape_with_and_without_checks(self) -> None:
        registry = PluginRegistry()
        snap = snapshot(
            registry,
            [
                {
                    "name": "off",
                    "targets": [{"target": "10.0.0.1:80"}, {"target": "10.0.0.9:80", "weight": 0}],
                },
                {
                    "name": "on",
                    "healthchecks": {"passive": {"unhealthy": {"tcp_failures": 1}}},
                    "targets": [{"target": "10.0.0.1:80"}, {"target": "10.0.0.2:81", "weight": 50}],
                },
            ],
        )
        report = health_report(snap, "off", node_id="n1")
        assert report is not None
        assert report["node_id"] == "n1" and report["next"] is None
        (item,) = report["data"]  # weight 0 is not listed
        assert item["target"] == "10.0.0.1:80" and item["health"] == "HEALTHCHECKS_OFF"
        assert item["data"]["addresses"] == [
            {"ip": "10.0.0.1", "port": 80, "weight": 100, "health": "HEALTHCHECKS_OFF"}
        ]
        on_id = snap.upstreams["on"]["id"]
        assert set_target_health(snap, on_id, "10.0.0.2:81", False)
        report = health_report(snap, on_id)
        assert [i["health"] for i in report["data"]] == ["HEALTHY", "UNHEALTHY"]  # type: ignore[index]
        assert report["data"][1]["data"]["weight"] == {"total": 50, "unavailable": 50, "available": 0}  # type: ignore[index]
        balancer = health_report(snap, "on", balancer_health=True)["data"]  # type: ignore[index]
        assert balancer["health"] == "HEALTHY" and balancer["id"] == on_id
        assert balancer["details"]["weight"] == {"total": 150, "unavailable": 50, "available": 100}
        assert health_report(snap, "off", balancer_health=True)["data"] == {  # type: ignore[index]
            "health": "HEALTHCHECKS_OFF",
            "id": snap.upstreams["off"]["id"],
        }
        assert health_report(snap, "nope") is None
