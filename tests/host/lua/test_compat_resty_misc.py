"""``resty.cookie``, ``resty.jit-uuid``, ``resty.hmac`` and ``resty.iputils`` through the
compat-resty-misc plugin (tests/lua_plugins/kong/plugins/compat-resty-misc): a client
from an allowed network gets a signed session cookie, then is recognised by it."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from host.lua.runtime import LuaHost
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


def config(upstream: Any, allow: list[str]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-resty-misc", "config": {"allow": allow}}],
    }


async def test_signed_session_cookie(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, ["10.0.0.0/8", "127.0.0.1"]))
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200
        assert (await resp.json())["headers"]["X-Session"] == "new"
        lines = resp.headers.getall("Set-Cookie")
    sid_line, mac_line = lines
    sid = sid_line.split(";")[0].split("=", 1)[1]
    assert uuid.UUID(sid).version == 4
    assert sid_line == f"sid={sid}; Path=/; HttpOnly; SameSite=Lax"
    mac = hmac.new(b"cookie-secret", sid.encode(), hashlib.sha256).hexdigest()
    assert mac_line == f"sid_mac={mac}; Path=/"
    async with http.get(gw.url + "/", headers={"Cookie": f"other=1; sid={sid};  sid_mac={mac}"}) as resp:
        assert (await resp.json())["headers"]["X-Session"] == sid
        assert "Set-Cookie" not in resp.headers
    async with http.get(gw.url + "/", headers={"Cookie": f"sid={sid}; sid_mac=forged"}) as resp:
        assert (await resp.json())["headers"]["X-Session"] == "new"


async def test_clients_outside_the_networks_are_refused(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, ["10.0.0.0/8"]))
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 403
        assert await resp.json() == {"message": "not from an allowed network"}


def test_module_answers_match_the_standards() -> None:
    probe = LuaHost().compile_in(
        "t",
        """
        local u, ip, hm = require 'resty.jit-uuid', require 'resty.iputils', require 'resty.hmac'
        local ns = 'e6ebd542-06ae-11e6-8e82-bba81706b27d'
        local ranges = ip.parse_cidrs({ '192.168.0.0/16', 'bad/99' })
        return u.generate_v3(ns, 'hello'), u.generate_v5(ns, 'hello'), u.is_valid('cbb297c0-a956-486d-dd1d-f9b42df9465a'),
          hm:new('key', hm.ALGOS.SHA1):final('msg', true), #ranges, select(2, ip.ip_in_cidrs('1.2.3.256', ranges)),
          ip.ip_in_cidrs('192.168.200.1', ranges), select(2, ip.parse_cidr('10.0.0.0/33'))
        """,
    )
    ns = uuid.UUID("e6ebd542-06ae-11e6-8e82-bba81706b27d")
    assert probe() == (
        str(uuid.uuid3(ns, "hello")).encode(),
        str(uuid.uuid5(ns, "hello")).encode(),
        False,  # variant d: not RFC 4122
        hmac.new(b"key", b"msg", hashlib.sha1).hexdigest().encode(),
        1,
        b"Invalid octet: 256",
        True,
        b"Invalid prefix: /33",
    )
