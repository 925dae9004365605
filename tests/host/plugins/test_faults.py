"""Plugin failures in every phase, Python and Lua: what the client gets, the log line, the counter.

Whatever a plugin does wrong, the client gets Kong's generic 500 (or, once the
response head is out, a closed connection) and never a word of the error; the operator
gets one log line naming plugin, phase, route, request id and reason, and
``kong_plugin_errors_total{plugin,phase,reason}`` counts it.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from tests.conftest import service
from tests.host.plugins._faults import (
    FAULT_PLUGINS,
    GENERIC_500,
    SECRET,
    errors_counted,
    metric_samples,
    raw_get,
    wait_for_record,
)

#: per language: the plugin failing in a configurable phase, the one failing in response
PLUGINS = {"python": ("fault-raise", "fault-response"), "lua": ("lua-fault", "lua-fault-response")}
FILTER_PHASES = ("access", "header_filter", "body_filter", "log")


def _phase_routes(lang: str) -> list[dict]:
    raiser, responder = PLUGINS[lang]
    routes = [
        {
            "name": f"r-{phase}",
            "paths": [f"/{phase}"],
            "plugins": [{"name": raiser, "config": {"phase": phase}}],
        }
        for phase in FILTER_PHASES
    ]
    routes.append({"name": "r-response", "paths": ["/response"], "plugins": [{"name": responder}]})
    routes.append({"name": "r-ok", "paths": ["/ok"]})
    return routes


async def _gateway(make_gateway, echo_upstream, routes, plugins=(), **settings):
    config = {
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": routes}],
        "plugins": list(plugins),
    }
    settings.setdefault("plugin_breaker_threshold", 0)  # these tests look at single failures
    return await make_gateway(config, plugins_dirs=[FAULT_PLUGINS], **settings)


def _plugin_record(plugin, phase):
    return lambda r: getattr(r, "plugin", None) == plugin and getattr(r, "phase", None) == phase


@pytest.mark.parametrize("lang", ["python", "lua"])
async def test_a_failure_in_any_phase_is_contained_logged_and_counted(
    lang, make_gateway, echo_upstream, http, caplog
):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")
    raiser, responder = PLUGINS[lang]
    gw = await _gateway(make_gateway, echo_upstream, _phase_routes(lang))
    port = gw.gateway.proxy_port

    for phase in ("access", "header_filter", "response"):
        resp = await raw_get(port, f"/{phase}/x")
        assert resp.status == 500, phase
        request_id = resp.headers["x-kong-request-id"]
        assert resp.json() == {"message": GENERIC_500, "request_id": request_id}
        assert SECRET not in resp.data
        assert "x-partial" not in resp.headers  # what the plugin set before failing is dropped
        plugin = responder if phase == "response" else raiser
        record = await wait_for_record(caplog, _plugin_record(plugin, phase))
        assert (record.route, record.request_id, record.reason) == (f"r-{phase}", request_id, "error")

    # body_filter: the head is committed once the body streams: the connection is closed,
    # nothing of the error (nor a 200 the client could take for a full response) arrives
    resp = await raw_get(port, "/body_filter/x")
    assert resp.data == b""
    record = await wait_for_record(caplog, _plugin_record(raiser, "body_filter"))
    assert (record.route, record.reason) == ("r-body_filter", "error")

    # log: the client already has its response
    resp = await raw_get(port, "/log/x")
    assert resp.status == 200 and resp.json()["path"] == "/x"  # the route strips its prefix
    record = await wait_for_record(caplog, _plugin_record(raiser, "log"))
    assert (record.route, record.request_id) == ("r-log", resp.headers["x-kong-request-id"])

    resp = await raw_get(port, "/ok")  # the worker keeps serving
    assert resp.status == 200

    samples = await metric_samples(http, gw.status_url)
    for phase in FILTER_PHASES:
        assert errors_counted(samples, raiser, phase, "error") == 1, phase
    assert errors_counted(samples, responder, "response", "error") == 1


@pytest.mark.parametrize("lang", ["python", "lua"])
async def test_a_failure_in_rewrite_is_contained_and_counted(lang, make_gateway, echo_upstream, http, caplog):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")
    raiser = PLUGINS[lang][0]
    gw = await _gateway(
        make_gateway,
        echo_upstream,
        [{"name": "r-ok", "paths": ["/ok"]}],
        plugins=[{"name": raiser, "config": {"phase": "rewrite"}}],
    )
    resp = await raw_get(gw.gateway.proxy_port, "/ok")
    assert resp.status == 500
    assert resp.json()["message"] == GENERIC_500 and SECRET not in resp.data
    record = await wait_for_record(caplog, _plugin_record(raiser, "rewrite"))
    assert record.request_id == resp.headers["x-kong-request-id"]
    assert errors_counted(await metric_samples(http, gw.status_url), raiser, "rewrite", "error") == 1


async def test_a_handler_that_waits_too_long_is_cut_at_the_phase_timeout(
    make_gateway, echo_upstream, http, caplog
):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")
    routes = [
        {
            "name": f"hang-{phase}",
            "paths": [f"/hang-{phase}"],
            "plugins": [{"name": "fault-hang", "config": {"phase": phase}}],
        }
        for phase in FILTER_PHASES
    ]
    routes.append(
        {
            "name": "lua-hang",
            "paths": ["/lua-hang"],
            "plugins": [{"name": "lua-fault", "config": {"how": "hang"}}],
        }
    )
    routes.append({"name": "lua-ok", "paths": ["/lua-ok"], "plugins": [{"name": "lua-secrets"}]})
    gw = await _gateway(make_gateway, echo_upstream, routes, plugin_phase_timeout=200)
    port = gw.gateway.proxy_port
    cancelled = sys.modules["moongate_plugins.fault_hang"].CANCELLED
    cancelled.clear()
    loop = asyncio.get_running_loop()

    async def timed(path):
        t0 = loop.time()
        resp = await raw_get(port, path)
        return resp, loop.time() - t0

    (
        (access, t_access),
        (header, t_header),
        (body, t_body),
        (logged, t_log),
        (lua, t_lua),
    ) = await asyncio.gather(
        timed("/hang-access"),
        timed("/hang-header_filter"),
        timed("/hang-body_filter"),
        timed("/hang-log"),
        timed("/lua-hang"),
    )
    for resp, elapsed in ((access, t_access), (header, t_header), (lua, t_lua)):
        assert resp.status == 500 and resp.json()["message"] == GENERIC_500
        assert 0.15 < elapsed < 1.5  # cut at 200 ms, not an hour
    assert body.data == b"" and 0.15 < t_body < 1.5
    assert logged.status == 200 and t_log < 0.15  # the log phase never delays the response
    await wait_for_record(caplog, _plugin_record("fault-hang", "log"))
    assert sorted(cancelled) == sorted(FILTER_PHASES)  # each hung coroutine got the cancellation

    samples = await metric_samples(http, gw.status_url)
    for phase in FILTER_PHASES:
        assert errors_counted(samples, "fault-hang", phase, "timeout") == 1, phase
    assert errors_counted(samples, "lua-fault", "access", "timeout") == 1
    record = await wait_for_record(caplog, _plugin_record("lua-fault", "access"))
    assert record.reason == "timeout" and record.route == "lua-hang"

    # the Lua runtime is fine after a coroutine was abandoned mid-sleep
    resp = await raw_get(port, "/lua-ok")
    assert resp.status == 200 and resp.headers["x-log-level"] == "notice"


async def test_a_memory_error_is_counted_as_memory(make_gateway, echo_upstream, http, caplog):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")
    routes = [{"name": "hog", "paths": ["/hog"], "plugins": [{"name": "fault-hog"}]}]
    gw = await _gateway(make_gateway, echo_upstream, routes)
    resp = await raw_get(gw.gateway.proxy_port, "/hog")
    assert resp.status == 500 and resp.json()["message"] == GENERIC_500
    record = await wait_for_record(caplog, _plugin_record("fault-hog", "access"))
    assert record.reason == "memory"
    assert errors_counted(await metric_samples(http, gw.status_url), "fault-hog", "access", "memory") == 1


async def test_a_sandbox_reason_is_the_label_and_other_reasons_are_errors(
    make_gateway, echo_upstream, http, tmp_path
):
    # the Lua sandbox raises exceptions carrying a reason; a stdlib one with a sentence
    # for a reason (UnicodeDecodeError) is a plain error
    (tmp_path / "violator.py").write_text(
        "PRIORITY = 1\nVERSION = '1.0.0'\n\n"
        "class Violation(Exception):\n    reason = 'escape'\n\n"
        "def access(kong, conf):\n"
        "    if kong.request.get_header('X-Decode'):\n"
        "        b'\\xff'.decode('utf-8')\n"
        "    raise RuntimeError('wrapped') from Violation('tried to reach Python')\n"
    )
    config = {
        "_format_version": "3.0",
        "services": [
            {
                **service(echo_upstream),
                "routes": [{"name": "v", "paths": ["/v"], "plugins": [{"name": "violator"}]}],
            }
        ],
    }
    gw = await make_gateway(config, plugins_dirs=[tmp_path])
    assert (await raw_get(gw.gateway.proxy_port, "/v")).status == 500
    assert (await raw_get(gw.gateway.proxy_port, "/v", {"X-Decode": "1"})).status == 500
    samples = await metric_samples(http, gw.status_url)
    assert errors_counted(samples, "violator", "access", "escape") == 1
    assert errors_counted(samples, "violator", "access", "error") == 1
