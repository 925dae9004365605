"""Admin API security: loopback unless a token is set, the token on every request, body limit, no CORS."""

from __future__ import annotations

import pytest

from host.admin import AdminListenError, check_listen
from host.settings import Settings


def test_non_loopback_needs_a_token() -> None:
    with pytest.raises(AdminListenError, match="not a loopback address: set admin_token"):
        check_listen(Settings(admin_listen="0.0.0.0:8001"))
    assert check_listen(Settings(admin_listen="0.0.0.0:8001", admin_token="s3cret")) == ("0.0.0.0", 8001)
    assert check_listen(Settings(admin_listen="[::1]:8001")) == ("::1", 8001)
    assert check_listen(Settings(admin_listen="off")) is None


async def test_a_gateway_refuses_to_start_an_exposed_admin_without_token(make_admin) -> None:
    with pytest.raises(AdminListenError):
        await make_admin(admin_listen="0.0.0.0:0")


async def test_token_is_required_on_every_request(make_admin, http) -> None:
    gw = await make_admin(admin_token="s3cret")
    for path in ("/", "/services", "/status", "/config"):
        resp = await http.get(gw.admin + path)
        assert resp.status == 401, path
    resp = await http.get(f"{gw.admin}/services", headers={"Kong-Admin-Token": "wrong"})
    assert resp.status == 401
    resp = await http.post(
        f"{gw.admin}/consumers", json={"username": "x"}, headers={"Kong-Admin-Token": "s3cret"}
    )
    assert resp.status == 201
    root = await (await http.get(f"{gw.admin}/", headers={"Kong-Admin-Token": "s3cret"})).json()
    assert "admin_token" not in root["configuration"]  # never shown


async def test_body_size_limit_and_no_cors(make_admin, http) -> None:
    gw = await make_admin(admin_client_max_body_size=1024)
    resp = await http.post(
        f"{gw.admin}/consumers", data=b"x" * 4096, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413 and await resp.json() == {"message": "Payload too large"}
    resp = await http.get(f"{gw.admin}/services", headers={"Origin": "http://evil.example"})
    assert resp.status == 200
    assert not [h for h in resp.headers if h.lower().startswith("access-control-")]
    assert "X-Kong-Admin-Latency" in resp.headers
