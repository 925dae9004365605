"""udp-log: schema, one datagram of JSON per request, custom fields, the doc example."""

from __future__ import annotations

import asyncio
import json

from tests.bundled.docs import example_config
from tests.bundled.http_log._helpers import errors_of, gateway_config, load_conf, spec_of
from tests.conftest import wait_until


def test_schema_defaults_and_messages():
    assert load_conf("udp-log", {"host": "localhost", "port": 9}) == {
        "host": "localhost",
        "port": 9,
        "timeout": 10000,
        "custom_fields_by_lua": None,
    }
    assert spec_of("udp-log").priority == 8
    assert "config.host: required field missing" in errors_of("udp-log", {"port": 1})
    assert any("config.host" in e for e in errors_of("udp-log", {"host": "bad host!", "port": 1}))


class Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr) -> None:
        self.datagrams.append(data)


async def collector() -> tuple[Collector, asyncio.DatagramTransport, int]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Collector, local_addr=("127.0.0.1", 0))
    return proto, transport, transport.get_extra_info("sockname")[1]


async def test_one_datagram_per_request(gateway, mock_upstream):
    col, transport, port = await collector()
    conf = {"host": "localhost", "port": port, "custom_fields_by_lua": {"kind": "return 'udp'"}}
    gw = await gateway.start(gateway_config(mock_upstream, "udp-log", conf))
    for i in range(3):
        resp = await gw.get(f"/api/{i}")
        assert resp.status == 200
    await wait_until(lambda: len(col.datagrams) == 3)
    entries = [json.loads(d) for d in col.datagrams]
    assert sorted(e["request"]["uri"] for e in entries) == ["/api/0", "/api/1", "/api/2"]
    assert all(e["kind"] == "udp" for e in entries)
    assert not col.datagrams[0].endswith(b"\n")
    transport.close()


async def test_doc_example(gateway, mock_upstream):
    col, transport, port = await collector()
    config = example_config("udp-log", mock_upstream.url)
    config["plugins"][0]["config"].update(host="127.0.0.1", port=port)
    gw = await gateway.start(config)
    resp = await gw.get("/demo")
    assert resp.status == 200
    await wait_until(lambda: len(col.datagrams) == 1)
    assert json.loads(col.datagrams[0])["request"]["uri"] == "/demo"
    transport.close()
