"""syslog: schema, severities by status class, log_level filter, facility, the line format."""

from __future__ import annotations

import asyncio
import json
import os
import re

import pytest

from tests.bundled.docs import example_config
from tests.bundled.http_log._helpers import errors_of, load_conf, spec_of
from tests.bundled.udp_log.test_udp_log import collector
from tests.conftest import service, wait_until

_LINE = re.compile(rb"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) kong\[(\d+)\]: (.*)$", re.S)


def test_schema_defaults_and_messages():
    assert load_conf("syslog", {}) == {
        "log_level": "info",
        "successful_severity": "info",
        "client_errors_severity": "info",
        "server_errors_severity": "info",
        "custom_fields_by_lua": None,
        "facility": "user",
    }
    assert spec_of("syslog").priority == 4
    assert (
        "config.log_level: expected one of: debug, info, notice, warning, err, crit, alert, emerg"
        in errors_of("syslog", {"log_level": "error"})
    )
    assert any(
        e.startswith("config.facility: expected one of: auth, authpriv")
        for e in errors_of("syslog", {"facility": "x"})
    )


def _config(upstream, conf):
    return {
        "_format_version": "3.0",
        "services": [
            {
                **service(upstream),
                "routes": [{"name": "r1", "paths": ["/status"], "strip_path": False}],
                "plugins": [{"name": "syslog", "config": conf}],
            }
        ],
    }


def _parse(datagram: bytes):
    match = _LINE.match(datagram)
    assert match, datagram
    return int(match[1]), int(match[3]), json.loads(match[4])


async def test_severity_by_status_and_facility(gateway, mock_upstream):
    col, transport, port = await collector()
    conf = {
        "successful_severity": "notice",
        "client_errors_severity": "warning",
        "server_errors_severity": "crit",
        "facility": "local3",
    }
    gw = await gateway.start(_config(mock_upstream, conf), settings={"syslog_target": f"127.0.0.1:{port}"})
    for status in (200, 404, 503):
        resp = await gw.get(f"/status/{status}")
        assert resp.status == status
    await wait_until(lambda: len(col.datagrams) == 3)
    parsed = sorted((_parse(d) for d in col.datagrams), key=lambda p: p[2]["response"]["status"])
    local3 = 19 * 8
    assert [p[0] for p in parsed] == [local3 + 5, local3 + 4, local3 + 2]
    assert all(p[1] == os.getpid() for p in parsed)
    transport.close()


@pytest.mark.parametrize(("log_level", "expected"), [("info", 2), ("warning", 1), ("crit", 0)])
async def test_log_level_filters_less_severe_entries(gateway, mock_upstream, log_level, expected):
    col, transport, port = await collector()
    conf = {"log_level": log_level, "successful_severity": "info", "client_errors_severity": "warning"}
    gw = await gateway.start(_config(mock_upstream, conf), settings={"syslog_target": f"127.0.0.1:{port}"})
    for status in (200, 404):
        resp = await gw.get(f"/status/{status}")
        assert resp.status == status
    await asyncio.sleep(0.3)
    assert len(col.datagrams) == expected
    transport.close()


async def test_unix_socket_target(gateway, mock_upstream, tmp_path):
    import socket

    path = str(tmp_path / "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    gw = await gateway.start(_config(mock_upstream, {}), settings={"syslog_target": path})
    resp = await gw.get("/status/200")
    assert resp.status == 200
    data = await asyncio.get_running_loop().run_in_executor(None, sock.recv, 65536)
    priority, _, entry = _parse(data)
    assert priority == 8 + 6  # user.info
    assert entry["request"]["uri"] == "/status/200"
    sock.close()


async def test_doc_example(gateway, mock_upstream):
    col, transport, port = await collector()
    gw = await gateway.start(
        example_config("syslog", mock_upstream.url), settings={"syslog_target": f"127.0.0.1:{port}"}
    )
    resp = await gw.get("/demo")
    assert resp.status == 200
    await wait_until(lambda: len(col.datagrams) == 1)
    priority, _, entry = _parse(col.datagrams[0])
    assert priority == 16 * 8 + 6  # local0.info
    assert entry["request"]["uri"] == "/demo"
    transport.close()
