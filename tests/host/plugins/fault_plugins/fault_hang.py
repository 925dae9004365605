"""Test plugin: an async handler that waits forever in the phase its config names."""

import asyncio

PRIORITY = 810
VERSION = "1.0.0"
SCHEMA = [
    {
        "phase": {
            "type": "string",
            "default": "access",
            "one_of": ["rewrite", "access", "header_filter", "body_filter", "log"],
        }
    }
]
#: phases whose wait was cancelled (the watchdog reached the handler)
CANCELLED: list[str] = []


async def _maybe_hang(conf, phase):
    if conf["phase"] != phase:
        return
    try:
        await asyncio.Event().wait()  # nobody ever sets it
    except asyncio.CancelledError:
        CANCELLED.append(phase)
        raise


async def rewrite(kong, conf):
    await _maybe_hang(conf, "rewrite")


async def access(kong, conf):
    await _maybe_hang(conf, "access")


async def header_filter(kong, conf):
    await _maybe_hang(conf, "header_filter")


async def body_filter(kong, conf):
    await _maybe_hang(conf, "body_filter")


async def log(kong, conf):
    await _maybe_hang(conf, "log")
