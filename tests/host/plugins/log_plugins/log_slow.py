"""Test plugin: an async log handler that waits for I/O (a sleep)."""

import asyncio
import sys

PRIORITY = 20
VERSION = "1.0.0"


async def log(kong, conf):
    record = sys.modules["moongate_plugins.log_first"].RECORD
    record.append(f"slow-start:{kong.ctx.plugin is not None}")
    await asyncio.sleep(0.05)
    record.append("slow-end")
