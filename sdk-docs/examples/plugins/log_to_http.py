"""log-to-http: POST Kong's log entry of each request to an HTTP endpoint."""

import aiohttp

from host.schema import typedefs

PRIORITY = 12
VERSION = "1.0.0"
SCHEMA = [{"endpoint": typedefs.url(required=True, description="Receives one JSON entry per request.")}]


async def log(kong, conf):
    entry = kong.log.serialize()
    async with aiohttp.ClientSession() as session, session.post(conf["endpoint"], json=entry) as resp:
        if resp.status >= 300:
            kong.log.warn("log endpoint answered ", resp.status)
