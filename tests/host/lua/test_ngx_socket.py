"""ngx.socket.tcp/udp (cosockets) against real local servers."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import pytest

from host.context import Context, reset_context, use_context
from host.lua.driver import drive
from host.lua.runtime import LuaHost
from pdk.phases import Phase


@pytest.fixture
async def tcp_server():
    """A line server: 'echo X' answers X; 'bye' closes; 'big' sends 3 lines then a partial one."""
    connections = []
    ended = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while line := await reader.readline():
            text = line.decode().strip()
            if text == "bye":
                writer.close()
                return
            if text == "big":
                writer.write(b"one\r\ntwo\nthree\n--BOUNDARY--tail")
                await writer.drain()
                writer.close()
                return
            writer.write(text.removeprefix("echo ").encode() + b"\r\n")
            await writer.drain()
        ended.append(writer)  # the client closed its side

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    server.connections = connections  # type: ignore[attr-defined]
    server.ended = ended  # type: ignore[attr-defined]
    yield server
    server.close()


@pytest.fixture
async def udp_server():
    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.got: list[bytes] = []

        def datagram_received(self, data: bytes, addr: Any) -> None:
            self.got.append(data)
            self.transport.sendto(b"ack:" + data, addr)

    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Echo, local_addr=("127.0.0.1", 0)
    )
    yield protocol
    transport.close()


async def run(host: LuaHost, code: str, phase: Phase = Phase.access) -> tuple[Any, ...]:
    fn = host.compile_in("t", code)
    ctx = Context()
    ctx.phase = phase
    token = use_context(ctx)
    try:
        return await drive(host, host.H.new_request(), b"t", fn)
    finally:
        reset_context(token)


def port_of(server: Any) -> int:
    return server.sockets[0].getsockname()[1]


async def test_connect_send_receive_patterns(tcp_server):
    host = LuaHost()
    results = await run(
        host,
        f"""
        local sock = ngx.socket.tcp()
        sock:settimeout(2000)
        assert(sock:connect("127.0.0.1", {port_of(tcp_server)}))
        local sent = assert(sock:send({{"echo ", "hello", {{" ", 42}}, "\\n"}}))
        local line = sock:receive()            -- "*l": CR and LF dropped
        sock:send("echo abcdef\\n")
        local three = sock:receive(3)
        local rest = sock:receive("*l")
        sock:send("big\\n")
        local l1, l2 = sock:receive("*l"), sock:receive("*l")
        local read = sock:receiveuntil("--BOUNDARY--")
        local upto = read()
        local all = sock:receive("*a")
        local none, err, partial = sock:receive()
        local closed_ok, closed_err = sock:close()
        return sent, line, three, rest, l1, l2, upto, all, none, err, partial, closed_ok, closed_err
        """,
    )
    assert results == (
        14,
        b"hello 42",
        b"abc",
        b"def",
        b"one",
        b"two",
        b"three\n",
        b"tail",
        None,
        b"closed",
        b"",
        1,
        None,
    )


async def test_keepalive_reuses_the_connection(tcp_server):
    host = LuaHost()
    code = f"""
        local sock = ngx.socket.tcp()
        assert(sock:connect("127.0.0.1", {port_of(tcp_server)}))
        local n = sock:getreusedtimes()
        sock:send("echo x\\n")
        local got = sock:receive()
        assert(sock:setkeepalive(10000, 5))
        local again, err = sock:send("x")
        return n, got, again, err
        """
    first = await run(host, code)
    second = await run(host, code)
    assert first == (0, b"x", None, b"closed")
    assert second == (1, b"x", None, b"closed")
    assert len(tcp_server.connections) == 1  # one TCP connection served both


async def test_errors_are_lua_nginx_module_strings(tcp_server):
    host = LuaHost()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    results = await run(
        host,
        f"""
        local refused = ngx.socket.tcp()
        local ok, err = refused:connect("127.0.0.1", {closed_port})
        local slow = ngx.socket.tcp()
        slow:settimeouts(1000, 1000, 50)
        assert(slow:connect("127.0.0.1", {port_of(tcp_server)}))
        local data, terr, partial = slow:receive()  -- the server says nothing
        local direct, derr = ngx.socket.connect("127.0.0.1", {closed_port})
        local bad = pcall(ngx.socket.tcp().connect, ngx.socket.tcp(), "127.0.0.1", "x")
        return ok, err, data, terr, partial, direct, derr, bad
        """,
    )
    assert results == (None, b"connection refused", None, b"timeout", b"", None, b"connection refused", False)


async def test_a_forgotten_socket_closes_with_its_request(tcp_server):
    host = LuaHost()
    code = f'local s = ngx.socket.tcp(); assert(s:connect("127.0.0.1", {port_of(tcp_server)}))'
    task = asyncio.get_running_loop().create_task(run(host, code))  # a request: its own task and context
    await task
    del task
    sockets = host.state["cosockets"]
    for _ in range(5):
        gc.collect()
        await asyncio.sleep(0.01)
        if not sockets.tcp:
            break
    assert sockets.tcp == {}
    await asyncio.sleep(0.05)
    assert len(tcp_server.ended) == len(tcp_server.connections) == 1


async def test_udp_send_and_receive(udp_server):
    host = LuaHost()
    port = udp_server.transport.get_extra_info("sockname")[1]
    results = await run(
        host,
        f"""
        local u = ngx.socket.udp()
        u:settimeout(1000)
        assert(u:setpeername("127.0.0.1", {port}))
        assert(u:send("ping"))
        local reply = u:receive()
        local ok = u:close()
        local again, err = u:send("x")
        return reply, ok, again, err
        """,
    )
    assert results == (b"ack:ping", 1, None, b"closed")
    assert udp_server.got == [b"ping"]


async def test_not_in_log_phase_but_in_a_timer_from_it(udp_server):
    host = LuaHost()
    port = udp_server.transport.get_extra_info("sockname")[1]
    with pytest.raises(Exception, match="API disabled in the context of log_by_lua"):
        await run(host, f'local u = ngx.socket.udp(); u:setpeername("127.0.0.1", {port})', Phase.log)
    await run(
        host,
        f"""
        assert(ngx.timer.at(0, function()
          local u = ngx.socket.udp()
          assert(u:setpeername("127.0.0.1", {port}))
          u:send("from a timer")
          u:close()
        end))
        """,
        Phase.log,
    )
    for _ in range(50):
        if udp_server.got:
            break
        await asyncio.sleep(0.02)
    assert udp_server.got == [b"from a timer"]


async def test_a_log_plugin_sends_lines_over_tcp_and_udp(make_gateway, echo_upstream, http, udp_server):
    from tests.conftest import service
    from tests.host.lua.test_smoke import LUA_PLUGINS

    lines: list[bytes] = []
    connections = []

    async def collect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while line := await reader.readline():
            lines.append(line)

    collector = await asyncio.start_server(collect, "127.0.0.1", 0)
    udp_port = udp_server.transport.get_extra_info("sockname")[1]
    config = {
        "_format_version": "3.0",
        "services": [
            service(
                echo_upstream,
                routes=[
                    {
                        "name": "tcp",
                        "paths": ["/tcp"],
                        "plugins": [
                            {
                                "name": "line-sender",
                                "config": {"host": "127.0.0.1", "port": port_of(collector)},
                            }
                        ],
                    },
                    {
                        "name": "udp",
                        "paths": ["/udp"],
                        "plugins": [
                            {
                                "name": "line-sender",
                                "config": {"protocol": "udp", "host": "127.0.0.1", "port": udp_port},
                            }
                        ],
                    },
                ],
            )
        ],
    }
    gw = await make_gateway(config, plugins_dirs=[LUA_PLUGINS])
    for sent, path in enumerate(("/tcp/a", "/tcp/b", "/udp/c"), 1):
        async with http.get(gw.url + path) as resp:
            assert resp.status == 200
        for _ in range(100):  # the line leaves from a timer after the response: wait for it
            if len(lines) + len(udp_server.got) == sent:
                break
            await asyncio.sleep(0.02)
    assert [json.loads(x) for x in lines] == [
        {"path": "/tcp/a", "status": 200},
        {"path": "/tcp/b", "status": 200},
    ]
    assert len(connections) == 1  # the second request reused the kept-alive connection
    assert [json.loads(x) for x in udp_server.got] == [{"path": "/udp/c", "status": 200}]
    collector.close()
