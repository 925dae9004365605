"""Read timeouts of the upstream client: one lazily re-armed timer per connection."""

from __future__ import annotations

import asyncio

from host.proxy.upstream_client import UpstreamClient, UpstreamTimeout


def _head(path: str, port: int) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\r\n".encode()


async def _get(client: UpstreamClient, port: int, path: str, read_timeout: float) -> bytes:
    resp = await client.request("127.0.0.1", port, _head(path, port), None, read_timeout=read_timeout)
    return await resp.read()


async def test_a_shorter_timeout_on_a_reused_connection_still_fires_on_time(echo_upstream):
    client = UpstreamClient()
    port = echo_upstream.port
    try:
        await _get(client, port, "/a", read_timeout=60)  # arms the connection's timer for 60 s
        (conn,) = client._pools[("127.0.0.1", port, False)]
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            await _get(client, port, "/delay/600", read_timeout=0.2)
        except UpstreamTimeout as exc:
            assert exc.stage == "read" and exc.sent
        else:
            raise AssertionError("no timeout")
        assert 0.15 < loop.time() - t0 < 0.55
        assert conn.closed or conn.transport.is_closing()  # a timed-out connection is not reused
    finally:
        await client.close()


async def test_a_later_deadline_re_arms_the_timer_instead_of_expiring(echo_upstream):
    client = UpstreamClient()
    port = echo_upstream.port
    try:
        await _get(client, port, "/a", read_timeout=0.3)  # the timer fires in 0.3 s, idle
        await asyncio.sleep(0.2)
        # this wait starts before the old timer fires and ends after it: no timeout
        assert await _get(client, port, "/delay/200", read_timeout=1.0)
        await asyncio.sleep(0.4)  # the timer fired meanwhile, with no wait pending
        assert await _get(client, port, "/delay/100", read_timeout=1.0)
    finally:
        await client.close()
