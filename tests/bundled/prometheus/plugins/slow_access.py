"""Test plugin: waits 120 ms in ``access`` (so Kong's share of the latency is known)."""

import asyncio

NAME = "slow-access"
PRIORITY = 900
VERSION = "1.0.0"


async def access(kong, conf):
    await asyncio.sleep(0.12)
