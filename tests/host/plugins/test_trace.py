"""--trace-plugins: one log line per plugin handler call, with phase, duration and outcome."""

from __future__ import annotations

import logging
import re

from tests.conftest import service


def config(upstream, *plugins):
    return {
        "_format_version": "3.0",
        "services": [service(upstream, routes=[{"name": "r", "paths": ["/"]}])],
        "plugins": list(plugins),
    }


def trace_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "moongate.trace"]


async def test_each_call_is_logged_with_its_outcome(make_gateway, echo_upstream, http, caplog):
    gw = await make_gateway(
        config(echo_upstream, {"name": "tagger", "config": {"tag": "t"}}, {"name": "exiter"}),
        trace_plugins=True,
    )
    caplog.set_level(logging.INFO, logger="moongate.trace")
    async with http.get(gw.url + "/", headers={"X-Exit": "1"}) as resp:
        status = resp.status
    assert status == 403
    lines = trace_lines(caplog)
    exiter = [line for line in lines if line.startswith("plugin=exiter phase=access")]
    assert exiter and re.search(
        rf"duration_ms=[\d.]+ outcome=exit status={status} request_id=\w{{32}}", exiter[0]
    )
    assert not any(line.startswith("plugin=tagger") for line in lines)  # access ended before its turn
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200
    tagger = [line for line in trace_lines(caplog) if line.startswith("plugin=tagger phase=access")]
    assert len(tagger) == 1 and "outcome=ok" in tagger[0] and "status=" not in tagger[0]


async def test_errors_name_the_exception(make_gateway, echo_upstream, http, caplog):
    gw = await make_gateway(config(echo_upstream, {"name": "crasher"}), trace_plugins=True)
    caplog.set_level(logging.INFO, logger="moongate.trace")
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 500
    (line,) = [x for x in trace_lines(caplog) if x.startswith("plugin=crasher phase=access")]
    assert "outcome=error" in line and "error=" in line


async def test_off_by_default_and_handlers_unwrapped(make_gateway, echo_upstream, http, caplog):
    gw = await make_gateway(config(echo_upstream, {"name": "tagger", "config": {"tag": "t"}}))
    caplog.set_level(logging.INFO, logger="moongate.trace")
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200
    assert trace_lines(caplog) == []
    assert not hasattr(gw.gateway.registry.get("tagger").handlers["access"], "__wrapped__")
