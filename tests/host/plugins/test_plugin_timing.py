"""Handler timing (``kong_plugin_latency_ms``): what the phase runner reports per handler.

With timing on (the prometheus plugin turns it on), every handler call is observed
once as ``((plugin, phase), ms)``: a sync handler, one that exits, one that fails, and
an async one for the whole time it waits (in access and in the log phase).  Off, no
observation is made.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TEST_PLUGINS, service, wait_until

LOG_PLUGINS = Path(__file__).parent / "log_plugins"


@pytest.fixture
async def gw(make_gateway, echo_upstream):
    config = {
        "_format_version": "3.0",
        "services": [
            {
                **service(echo_upstream),
                "routes": [
                    {
                        "name": "plain",
                        "paths": ["/plain"],
                        "plugins": [{"name": "tagger", "config": {"tag": "t"}}, {"name": "log-first"}],
                    },
                    {"name": "exit", "paths": ["/exit"], "plugins": [{"name": "exiter"}]},
                    {"name": "crash", "paths": ["/crash"], "plugins": [{"name": "crasher"}]},
                    {
                        "name": "sleep",
                        "paths": ["/sleep"],
                        "plugins": [
                            {"name": "sleeper", "config": {"seconds": 0.05}},
                            {"name": "tagger", "config": {"tag": "t"}},
                        ],
                    },
                    {
                        "name": "log",
                        "paths": ["/log"],
                        "plugins": [{"name": "log-first"}, {"name": "log-slow"}, {"name": "log-after"}],
                    },
                ],
            }
        ],
    }
    return await make_gateway(config, plugins_dirs=[TEST_PLUGINS, LOG_PLUGINS])


@pytest.fixture
def observed(gw):
    seen: list[tuple[tuple[str, str], float]] = []
    runner = gw.gateway.runner
    runner.set_timing(lambda labels, ms: seen.append((labels, ms)))
    yield seen
    runner.set_timing(None)


async def _get(http, gw, path: str, headers: dict[str, str] | None = None) -> int:
    async with http.get(gw.url + path, headers=headers) as resp:
        await resp.read()
        return resp.status


async def test_each_handler_is_observed_once_per_call(gw, http, observed):
    assert await _get(http, gw, "/plain") == 200
    await wait_until(lambda: ("log-first", "log") in dict(observed))  # after the response
    labels = [labels for labels, _ in observed]
    assert ("tagger", "access") in labels and ("log-first", "log") in labels
    assert all(labels.count(label) == 1 for label in labels)
    assert all(ms >= 0 for _, ms in observed)


async def test_exiting_and_failing_handlers_are_observed(gw, http, observed):
    assert await _get(http, gw, "/exit", {"X-Exit": "1"}) == 403
    assert await _get(http, gw, "/crash") == 500
    labels = [labels for labels, _ in observed]
    assert ("exiter", "access") in labels
    assert ("crasher", "access") in labels


async def test_a_waiting_handler_is_observed_until_it_finished(gw, http, observed):
    assert await _get(http, gw, "/sleep") == 200
    times = dict(observed)
    assert times[("sleeper", "access")] >= 45  # slept 50 ms
    assert ("tagger", "access") in times  # the handlers after the waiting one are timed too


async def test_a_waiting_log_handler_is_observed_when_it_ends(gw, http, observed):
    assert await _get(http, gw, "/log") == 200
    await wait_until(lambda: ("log-after", "log") in dict(observed))
    times = dict(observed)
    assert times[("log-slow", "log")] >= 45  # slept 50 ms
    assert ("log-first", "log") in times


async def test_nothing_is_observed_once_timing_is_off(gw, http, observed):
    gw.gateway.runner.set_timing(None)
    assert await _get(http, gw, "/sleep") == 200
    assert observed == []
