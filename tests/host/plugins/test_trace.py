"""--trace-plugins: one log line per plugin handler call, with phase, duration and outcome."""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import TEST_PLUGINS, service


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


@pytest.fixture
def echo_upstream_process():
    import subprocess
    import sys
    import time

    from tests.conftest import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "demo-upstream", "--listen", f"127.0.0.1:{port}"]
    )
    time.sleep(0.5)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


def test_start_flag_turns_it_on(tmp_path, echo_upstream_process):
    import subprocess
    import sys
    import time
    import urllib.request

    import yaml

    from tests.conftest import free_port

    port = free_port()
    (tmp_path / "kong.yml").write_text(
        yaml.safe_dump(
            {
                "_format_version": "3.0",
                "services": [{"name": "s", "url": echo_upstream_process, "routes": [{"paths": ["/"]}]}],
                "plugins": [{"name": "tagger", "config": {"tag": "t"}}],
            }
        )
    )
    command = [sys.executable, "-m", "host.cli", "start", "--workers", "1", "--trace-plugins"]
    command += [
        "-c",
        str(tmp_path / "kong.yml"),
        "--proxy-listen",
        f"127.0.0.1:{port}",
        "--status-listen",
        "off",
    ]
    command += ["--admin-listen", "off", "--plugins-dir", str(TEST_PLUGINS), "-p", str(tmp_path / "prefix")]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    assert resp.headers["X-Tag"] == "t"
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "plugin=tagger phase=access" in err and "outcome=ok" in err
