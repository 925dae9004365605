"""The log phase: handlers run right after the response; a task only for one that waits."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from tests.conftest import service, wait_until

PLUGINS = Path(__file__).parent / "log_plugins"


def record() -> list[str]:
    return sys.modules["moongate_plugins.log_first"].RECORD


@pytest.fixture
async def gw(make_gateway, echo_upstream):
    config = {
        "_format_version": "3.0",
        "services": [
            {
                **service(echo_upstream),
                "routes": [
                    {
                        "name": "all",
                        "paths": ["/all"],
                        "plugins": [{"name": "log-first"}, {"name": "log-slow"}, {"name": "log-after"}],
                    },
                    {
                        "name": "sync",
                        "paths": ["/sync"],
                        "plugins": [{"name": "log-first", "config": {"fail": True}}, {"name": "log-after"}],
                    },
                ],
            }
        ],
    }
    gateway = await make_gateway(config, plugins_dirs=[PLUGINS])
    record().clear()
    return gateway


async def test_sync_handlers_run_inline_and_a_waiting_one_continues_in_a_task(gw, http):
    async with http.get(gw.url + "/all") as resp:
        assert resp.status == 200
        await resp.read()
    # the response did not wait for the slow handler; the handlers before it already ran
    assert record()[:2] == ["first", "slow-start:True"]
    assert "after" not in record()
    assert len(gw.gateway.handler.log_tasks) == 1
    await wait_until(lambda: len(record()) == 4)
    assert record() == ["first", "slow-start:True", "slow-end", "after"]  # priority order kept
    await wait_until(lambda: not gw.gateway.handler.log_tasks)


async def test_a_failing_sync_handler_is_logged_and_the_others_run(gw, http, caplog):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")
    async with http.get(gw.url + "/sync") as resp:
        assert resp.status == 200
        await resp.read()
    await wait_until(lambda: "after" in record())
    assert record() == ["first", "after"]
    assert not gw.gateway.handler.log_tasks  # nothing waited: no task was made
    assert any("plugin 'log-first' failed in phase 'log'" in r.getMessage() for r in caplog.records)


async def test_stop_waits_for_pending_log_handlers(gw, http):
    async with http.get(gw.url + "/all") as resp:
        await resp.read()
    await gw.gateway.stop(grace=2.0)
    assert record()[-2:] == ["slow-end", "after"]
