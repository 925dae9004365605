"""``lsyslog``, ``kong.workspaces`` and ``kong.log.serialize(options)``: what Kong's
syslog and statsd plugins need (tests/lua_plugins/kong/plugins/compat-syslog).  The
line goes to the ``syslog_target`` setting, here a UDP socket of the test."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pdk._serialize import DEFAULT_WORKSPACE_ID
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


class Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.lines: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.lines.put_nowait(data)


async def test_a_syslog_line_per_request(lua_gateway, echo_upstream, http):  # noqa: F811
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(Collector, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("socket").getsockname()[1]
    try:
        config = {
            "_format_version": "3.0",
            "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "compat-syslog"}],
        }
        gw = await lua_gateway(config, syslog_target=f"127.0.0.1:{port}")
        async with http.get(gw.url + "/some/path?x=1") as resp:
            assert resp.status == 200
        line = await asyncio.wait_for(collector.lines.get(), 5)
    finally:
        transport.close()
    # <PRI> = local0 (16) * 8 + warning (4); then the RFC 3164 stamp and ident[pid]
    match = re.fullmatch(rb"<132>\w{3} [ \d]\d \d\d:\d\d:\d\d moongate-test\[(\d+)\]: (.*)", line)
    assert match is not None, line
    assert match[2] == f"ws={DEFAULT_WORKSPACE_ID} name=default uri=/some/path?x=1".encode()


def test_constants_are_syslog_h_values_and_no_workspace_outside_requests() -> None:
    from host.lua.runtime import LuaHost

    host = LuaHost()
    probe = host.compile_in(
        "t",
        """
        local s, ws = require 'lsyslog', require 'kong.workspaces'
        return s.LOG_EMERG, s.LOG_DEBUG, s.FACILITY_KERN, s.FACILITY_AUTH, s.FACILITY_LOCAL7,
          ws.get_workspace_id(), ws.get_workspace().name
        """,
    )
    assert probe() == (0, 7, 0, 4 << 3, 23 << 3, None, b"default")
