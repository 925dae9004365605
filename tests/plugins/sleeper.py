"""Test plugin: an async access handler that awaits I/O (a sleep) without blocking others."""

import asyncio

PRIORITY = 700
VERSION = "1.0.0"
SCHEMA = [{"seconds": {"type": "number", "default": 0.2}}]


async def access(kong, conf):
    await asyncio.sleep(conf["seconds"])
    kong.response.set_header("X-Slept", str(conf["seconds"]))
