"""remote-auth: ask an HTTP service whether the request's Authorization header is valid."""

import aiohttp

from host.schema import typedefs

PRIORITY = 1100
VERSION = "1.0.0"
SCHEMA = [
    {"url": typedefs.url(required=True, description="Answers 200 for a valid Authorization.")},
    {"timeout": {"type": "integer", "default": 2000, "between": [1, 60000], "description": "In ms."}},
]


class Plugin:
    async def access(self, kong, conf):
        token = kong.request.get_header("Authorization")
        if token is None:
            kong.response.error(401)  # raises: the handler stops here
        timeout = aiohttp.ClientTimeout(total=conf["timeout"] / 1000)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(conf["url"], headers={"Authorization": token}) as resp,
            ):
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            kong.log.err("auth service unreachable: ", repr(exc))
            kong.response.error(503, "Authentication service unavailable")
        if status != 200:
            kong.response.error(403)
