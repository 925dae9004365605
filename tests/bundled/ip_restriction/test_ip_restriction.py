"""ip-restriction through real requests: allow/deny lists of IPv4/IPv6 addresses and
CIDRs, the client address after real-IP handling, status and message, the doc example."""

from __future__ import annotations

import pytest

from tests.bundled.auth_combined.support import gateway_config, validate
from tests.bundled.docs import example_config


def test_schema_defaults_and_errors():
    config, errors = validate("ip-restriction", {"allow": ["10.0.0.0/8", "::1"]})
    assert errors == []
    assert config == {"allow": ["10.0.0.0/8", "::1"], "deny": None, "status": None, "message": None}
    _, errors = validate("ip-restriction", {})
    assert errors == [
        ("@entity", "at least one of these fields must be non-empty: 'config.allow', 'config.deny'")
    ]
    _, errors = validate(
        "ip-restriction",
        {"allow": ["300.1.1.1", "10.0.0.0/33", "fe80::/129", "nope"], "status": "x", "message": 1},
    )
    assert sorted(errors) == [
        ("config.allow[0]", "invalid ip or cidr range: '300.1.1.1'"),
        ("config.allow[1]", "invalid ip or cidr range: '10.0.0.0/33'"),
        ("config.allow[2]", "invalid ip or cidr range: 'fe80::/129'"),
        ("config.allow[3]", "invalid ip or cidr range: 'nope'"),
        ("config.message", "expected a string"),
        ("config.status", "expected a number"),
    ]
    _, errors = validate("ip-restriction", {"deny": ["1.2.3.4"]}, protocols=["tcp"])
    assert errors == []  # also a stream plugin in Kong


async def start(gateway, mock_upstream, conf, **settings):
    plugins = [{"name": "ip-restriction", "config": conf}]
    return await gateway.start(gateway_config(mock_upstream.url, plugins), settings=settings)


async def status_for(gw, client_ip, path="/"):
    resp = await gw.get(path, headers={"X-Real-IP": client_ip})
    return resp.status, resp.json().get("message")


TRUSTED = {"trusted_ips": ["127.0.0.1"], "real_ip_header": "X-Real-IP"}


@pytest.mark.parametrize(
    ("conf", "allowed", "refused"),
    [
        ({"allow": ["10.0.0.0/8"]}, ["10.1.2.3", "10.255.255.255"], ["11.0.0.1", "127.0.0.1", "::1"]),
        (
            {"deny": ["10.0.0.0/8", "192.0.2.7"]},
            ["11.0.0.1", "192.0.2.8", "2001:db8::1"],
            ["10.9.9.9", "192.0.2.7"],
        ),
        (
            {"allow": ["2001:db8::/32", "::1"]},
            ["2001:db8::1", "2001:db8:ffff::2", "::1"],
            ["2001:db9::1", "10.0.0.1"],
        ),
        ({"deny": ["2001:db8::5"]}, ["2001:db8::6"], ["2001:db8::5", "2001:DB8:0:0:0:0:0:5"]),
        ({"allow": ["10.0.0.0/8"], "deny": ["10.6.6.6"]}, ["10.6.6.7"], ["10.6.6.6", "12.0.0.1"]),
        ({"allow": ["0.0.0.0/0"]}, ["1.1.1.1", "255.255.255.255"], ["::1"]),
    ],
)
async def test_allow_and_deny(gateway, mock_upstream, conf, allowed, refused):
    gw = await start(gateway, mock_upstream, conf, **TRUSTED)
    for ip in allowed:
        assert (await status_for(gw, ip))[0] == 200, ip
    for ip in refused:
        status, message = await status_for(gw, ip)
        assert (status, message) == (403, f"IP address not allowed: {ip}"), ip


async def test_status_and_message(gateway, mock_upstream):
    gw = await start(
        gateway, mock_upstream, {"deny": ["10.0.0.1"], "status": 451, "message": "Go away"}, **TRUSTED
    )
    assert await status_for(gw, "10.0.0.1") == (451, "Go away")


async def test_uses_the_forwarded_address_only_from_trusted_peers(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"allow": ["10.0.0.0/8"]})  # no trusted_ips
    status, message = await status_for(gw, "10.1.1.1")
    assert (status, message) == (403, "IP address not allowed: 127.0.0.1")
    gw = await start(gateway, mock_upstream, {"deny": ["127.0.0.1"]}, **TRUSTED)
    assert (await status_for(gw, "10.1.1.1"))[0] == 200
    gw = await start(
        gateway,
        mock_upstream,
        {"allow": ["192.0.2.1"]},
        trusted_ips=["127.0.0.1"],
        real_ip_header="X-Forwarded-For",
        real_ip_recursive=True,
    )
    resp = await gw.get("/", headers={"X-Forwarded-For": "192.0.2.1, 127.0.0.1"})
    assert resp.status == 200


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("ip-restriction", mock_upstream.url), settings=TRUSTED)
    resp = await gw.get("/internal")
    assert resp.status == 200
    assert (await status_for(gw, "10.6.6.6", "/internal"))[0] == 403
    resp = await gw.get("/internal", headers={"X-Real-IP": "192.0.2.20"})
    assert resp.status == 403
    assert (resp.json())["message"] == "IP address not allowed: 192.0.2.20"
