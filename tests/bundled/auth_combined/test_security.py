"""Security properties of the auth plugins through real sockets: no header splitting
through credential values, oversized Authorization headers, constant-time password
checks."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from pathlib import Path

from host.lua.runtime import LuaHost
from tests.bundled.auth_combined.support import basic, gateway_config, upstream_headers

HANDLER = Path(__file__).resolve().parents[3] / "lua_plugins" / "basic-auth" / "handler.lua"
EVIL_CUSTOM_ID = "c-1\r\nX-Injected: custom"
EVIL_USERNAME = "mallory\r\nX-Injected: username"
EVIL_BASIC_USER = "eve\r\nX-Injected"  # no ":": it is the separator of user:password
CONSUMERS = [
    {
        "username": EVIL_USERNAME,
        "custom_id": EVIL_CUSTOM_ID,
        "keyauth_credentials": [{"key": "mallory-key"}],
        "acls": [{"group": "ok\r\nX-Injected: group"}],
    },
    {"username": "eve", "basicauth_credentials": [{"username": EVIL_BASIC_USER, "password": "pw"}]},
]


async def test_credential_values_cannot_split_headers(gateway, mock_upstream):
    plugins = [{"name": "key-auth"}, {"name": "acl", "config": {"deny": ["nobody"]}}]
    gw = await gateway.start(gateway_config(mock_upstream.url, plugins, CONSUMERS))
    resp = await gw.get("/", headers={"apikey": "mallory-key"})
    assert resp.status == 200
    seen = upstream_headers(resp.json())
    assert "x-injected" not in seen
    assert seen["x-consumer-custom-id"] == "c-1%0D%0AX-Injected: custom"
    assert seen["x-consumer-username"] == "mallory%0D%0AX-Injected: username"
    assert seen["x-consumer-groups"] == "ok%0D%0AX-Injected: group"
    gw = await gateway.start(gateway_config(mock_upstream.url, [{"name": "basic-auth"}], CONSUMERS))
    raw = base64.b64encode(f"{EVIL_BASIC_USER}:pw".encode()).decode()
    resp = await gw.get("/", headers={"Authorization": "Basic " + raw})
    assert resp.status == 200
    seen = upstream_headers(resp.json())
    assert "x-injected" not in seen
    assert seen["x-credential-identifier"] == "eve%0D%0AX-Injected"


async def raw_request(port: int, head: bytes, body_chunks: list[bytes]) -> tuple[bytes, bool]:
    """Send ``head`` then the chunks while reading; return what came back and whether
    the server closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = bytearray()

    async def read() -> bool:
        try:
            while True:
                piece = await reader.read(65536)
                if not piece:
                    return True
                received.extend(piece)
        except (ConnectionResetError, BrokenPipeError):
            return True

    reading = asyncio.ensure_future(read())
    try:
        writer.write(head)
        for chunk in body_chunks:
            if reading.done():
                break
            writer.write(chunk)
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    try:
        closed = await asyncio.wait_for(reading, 10)
    finally:
        writer.close()
    return bytes(received), closed


async def test_a_10_mb_authorization_header_gets_a_clean_4xx(gateway, mock_upstream, caplog):
    plugins = [{"name": "basic-auth"}, {"name": "key-auth", "config": {"anonymous": "eve"}}]
    gw = await gateway.start(gateway_config(mock_upstream.url, plugins, CONSUMERS))
    port = gw.gateway.proxy_port
    head = b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
    huge = [b"A" * 65536 for _ in range(160)] + [b"\r\n\r\n"]  # 10 MiB
    started = time.monotonic()
    data, closed = await raw_request(port, head, huge)
    assert time.monotonic() - started < 10
    status = int(data.split(b" ", 2)[1])
    assert status == 400
    assert data.split(b"\r\n\r\n", 1)[1] == b'{"message":"Request header or cookie too large"}'
    assert closed
    assert b"AAAAAAAA" not in data  # nothing of the credential comes back...
    assert not any(
        "AAAAAAAA" in (r.getMessage() + str(r.exc_info)) for r in caplog.records
    )  # ...or is logged
    # the gateway keeps serving
    resp = await gw.get("/", headers={"Authorization": basic(EVIL_BASIC_USER, "pw")})
    assert resp.status == 200


def test_basic_auth_compares_digests_in_constant_time():
    """basic-auth's digest comparison takes as long whether the first byte or the last differs."""
    source = HANDLER.read_text()
    found = re.search(r"local function constant_time_equal.*?\nend\n", source, re.S)
    assert found, "constant_time_equal not found in basic-auth's handler"
    host = LuaHost()
    fn = host.compile(
        "local bor, bxor, byte = bit.bor, bit.bxor, string.byte\n"
        + found.group(0)
        + """
        local a = string.rep("a", 40)
        local first, last = "b" .. string.rep("a", 39), string.rep("a", 39) .. "b"
        local function time(b)
          local t = os.clock()
          for _ = 1, 300000 do constant_time_equal(a, b) end
          return os.clock() - t
        end
        time(first); time(last)
        local t_first, t_last = math.huge, math.huge
        for _ = 1, 3 do
          t_first, t_last = math.min(t_first, time(first)), math.min(t_last, time(last))
        end
        return constant_time_equal(a, a), constant_time_equal(a, first), constant_time_equal(a, last),
               constant_time_equal(a, "a"), t_first, t_last
        """
    )
    same, first, last, short, t_first, t_last = fn()
    assert (same, first, last, short) == (True, False, False, False)
    assert 0.5 < t_first / t_last < 2.0
