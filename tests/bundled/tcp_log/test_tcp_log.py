"""tcp-log: schema, JSON lines over one kept connection, TLS with SNI, dead servers."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import time

import pytest

from tests.bundled.docs import example_config
from tests.bundled.http_log._helpers import errors_of, gateway_config, load_conf, spec_of
from tests.conftest import free_port, wait_until


def test_schema_defaults_and_messages():
    assert load_conf("tcp-log", {"host": "127.0.0.1", "port": 9}) == {
        "host": "127.0.0.1",
        "port": 9,
        "timeout": 10000,
        "keepalive": 60000,
        "tls": False,
        "tls_sni": None,
        "custom_fields_by_lua": None,
    }
    assert spec_of("tcp-log").priority == 7
    errors = errors_of("tcp-log", {})
    assert "config.host: required field missing" in errors
    assert "config.port: required field missing" in errors
    assert "config.port: value should be between 0 and 65535" in errors_of(
        "tcp-log", {"host": "h", "port": 70000}
    )


class LineServer:
    """A TCP (or TLS) server recording lines and the connections they came on."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, bytes]] = []
        self.connections = 0
        self.server_names: list[str | None] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = self.connections
        while line := await reader.readline():
            self.lines.append((conn, line))
        writer.close()

    async def start(self, context: ssl.SSLContext | None = None) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=context)
        return self.server.sockets[0].getsockname()[1]


async def test_lines_over_one_kept_connection(gateway, mock_upstream):
    srv = LineServer()
    port = await srv.start()
    gw = await gateway.start(gateway_config(mock_upstream, "tcp-log", {"host": "127.0.0.1", "port": port}))
    for i in range(3):
        resp = await gw.get(f"/api/{i}", headers={"Authorization": "x"})
        assert resp.status == 200
    await wait_until(lambda: len(srv.lines) == 3)
    assert {conn for conn, _ in srv.lines} == {1}  # keepalive: one connection
    entries = [json.loads(line) for _, line in srv.lines]
    assert all(line.endswith(b"\n") for _, line in srv.lines)
    assert [e["request"]["uri"] for e in entries] == ["/api/0", "/api/1", "/api/2"]
    assert entries[0]["request"]["headers"]["authorization"] == "REDACTED"
    srv.server.close()


async def test_keepalive_expiry_opens_a_new_connection(gateway, mock_upstream):
    srv = LineServer()
    port = await srv.start()
    conf = {"host": "127.0.0.1", "port": port, "keepalive": 100}
    gw = await gateway.start(gateway_config(mock_upstream, "tcp-log", conf))
    resp = await gw.get("/api")
    assert resp.status == 200
    await wait_until(lambda: len(srv.lines) == 1)
    await asyncio.sleep(0.3)
    resp = await gw.get("/api")
    assert resp.status == 200
    await wait_until(lambda: len(srv.lines) == 2)
    assert [conn for conn, _ in srv.lines] == [1, 2]
    srv.server.close()


@pytest.fixture
def tls_context(tmp_path):
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=logs.example",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_tls_with_sni(gateway, mock_upstream, tls_context):
    srv = LineServer()
    seen: list[str | None] = []
    tls_context.sni_callback = lambda sslobj, name, ctx: seen.append(name)
    port = await srv.start(tls_context)
    conf = {"host": "127.0.0.1", "port": port, "tls": True, "tls_sni": "logs.example"}
    gw = await gateway.start(gateway_config(mock_upstream, "tcp-log", conf))
    resp = await gw.get("/api")
    assert resp.status == 200
    await wait_until(lambda: len(srv.lines) == 1)
    assert seen == ["logs.example"]
    assert json.loads(srv.lines[0][1])["response"]["status"] == 200
    srv.server.close()


async def test_dead_server_never_delays_clients(gateway, mock_upstream, caplog):
    conf = {"host": "127.0.0.1", "port": free_port(), "timeout": 200}
    gw = await gateway.start(gateway_config(mock_upstream, "tcp-log", conf))
    took = []
    for _ in range(10):
        started = time.perf_counter()
        resp = await gw.get("/api")
        assert resp.status == 200
        took.append(time.perf_counter() - started)
    assert max(took) < 1.0
    await wait_until(lambda: "failed to connect to 127.0.0.1" in caplog.text)


async def test_doc_example(gateway, mock_upstream):
    srv = LineServer()
    port = await srv.start()
    config = example_config("tcp-log", mock_upstream.url)
    config["plugins"][0]["config"]["port"] = port
    gw = await gateway.start(config)
    resp = await gw.get("/demo")
    assert resp.status == 200
    await wait_until(lambda: len(srv.lines) == 1)
    assert json.loads(srv.lines[0][1])["request"]["uri"] == "/demo"
    srv.server.close()
