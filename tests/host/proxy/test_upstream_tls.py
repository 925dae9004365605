"""TLS towards upstreams, against a real TLS upstream: verification, CAs, depth, client
certificates, the server name sent, and pooling by TLS options."""

from __future__ import annotations

import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from host.proxy.upstream_tls import load_pem_pair, sni_of
from tests.host.proxy.test_tls import Issued, issue

CA_ID = "0c0a0000-0000-4000-8000-000000000001"
OTHER_CA_ID = "0c0a0000-0000-4000-8000-000000000002"
CLIENT_CERT_ID = "0c0a0000-0000-4000-8000-000000000003"
BAD_GATEWAY = "An invalid response was received from the upstream server"


@dataclass
class TLSUpstream:
    """A TLS upstream answering ``{server_name, client_cn, host}`` for each request."""

    port: int
    server_names: list[str | None] = field(default_factory=list)


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    """A root CA, an intermediate, upstream certificates and a client certificate."""
    root = issue("Test Root CA", ca=True)
    intermediate = issue("Test Intermediate CA", issuer=root, ca=True)
    return {
        "root": root,
        "other-root": issue("Other Root CA", ca=True),
        "intermediate": intermediate,
        "localhost": issue("localhost", issuer=root),
        "deep": issue("localhost", issuer=intermediate),
        "client": issue("gateway-client", issuer=root),
    }


@pytest.fixture
async def tls_upstream() -> AsyncIterator[Callable[..., Awaitable[TLSUpstream]]]:
    """``await tls_upstream(cert, chain=[...], client_ca=None)``: an HTTPS server on 127.0.0.1."""
    runners: list[web.AppRunner] = []

    async def start(
        cert: Issued, chain: tuple[Issued, ...] = (), client_ca: Issued | None = None
    ) -> TLSUpstream:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        load_pem_pair(context, cert.cert + "".join(c.cert for c in chain), cert.key)
        if client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cadata=client_ca.cert)
        names: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()

        def on_sni(ssl_object: Any, name: str | None, _context: Any) -> None:
            names[ssl_object] = name
            upstream.server_names.append(name)

        context.sni_callback = on_sni

        async def answer(request: web.Request) -> web.Response:
            ssl_object = request.transport.get_extra_info("ssl_object")  # type: ignore[union-attr]
            peer = ssl_object.getpeercert()
            client_cn = dict(pair[0] for pair in peer["subject"]).get("commonName") if peer else None
            return web.json_response(
                {
                    "server_name": names.get(ssl_object),
                    "client_cn": client_cn,
                    "host": request.headers["Host"],
                }
            )

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        runners.append(runner)
        upstream = TLSUpstream(runner.addresses[0][1])
        return upstream

    yield start
    for runner in runners:
        await runner.cleanup()


def tls_config(pki: dict[str, Issued], *services: dict[str, Any]) -> dict[str, Any]:
    """A config with the test CAs and client certificate, one route per service (``/<name>``)."""
    return {
        "_format_version": "3.0",
        "ca_certificates": [
            {"id": CA_ID, "cert": pki["root"].cert},
            {"id": OTHER_CA_ID, "cert": pki["other-root"].cert},
        ],
        "certificates": [{"id": CLIENT_CERT_ID, "cert": pki["client"].cert, "key": pki["client"].key}],
        "services": [{**s, "routes": [{"name": s["name"], "paths": [f"/{s['name']}"]}]} for s in services],
    }


async def get(http: Any, gw: Any, path: str, **headers: str) -> tuple[int, Any]:
    async with http.get(gw.url + path, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_verification_is_off_by_default(make_gateway, tls_upstream, http, pki):
    upstream = await tls_upstream(pki["localhost"])  # signed by a CA nobody trusts
    gw = await make_gateway(tls_config(pki, {"name": "plain", "url": f"https://127.0.0.1:{upstream.port}"}))
    status, body = await get(http, gw, "/plain")
    assert status == 200
    assert body["server_name"] is None  # an IP: no SNI, as nginx
    assert body["client_cn"] is None


async def test_verify_with_ca_certificates_and_the_upstream_host_as_sni(
    make_gateway, tls_upstream, http, pki
):
    upstream = await tls_upstream(pki["localhost"])
    url = f"https://localhost:{upstream.port}"
    gw = await make_gateway(
        tls_config(
            pki,
            {"name": "good", "url": url, "tls_verify": True, "ca_certificates": [CA_ID]},
            {"name": "wrong", "url": url, "tls_verify": True, "ca_certificates": [OTHER_CA_ID]},
            {"name": "system", "url": url, "tls_verify": True},  # no CA given: the system's
        )
    )
    status, body = await get(http, gw, "/good")
    assert (status, body["server_name"], body["host"]) == (200, "localhost", f"localhost:{upstream.port}")
    status, body = await get(http, gw, "/wrong")
    assert (status, body["message"]) == (502, BAD_GATEWAY)
    status, _ = await get(http, gw, "/system")
    assert status == 502


async def test_the_sni_follows_the_host_sent_with_preserve_host(make_gateway, tls_upstream, http, pki):
    upstream = await tls_upstream(pki["localhost"])
    config = tls_config(pki, {"name": "kept", "url": f"https://127.0.0.1:{upstream.port}"})
    config["services"][0]["routes"][0]["preserve_host"] = True
    gw = await make_gateway(config)
    status, body = await get(http, gw, "/kept", Host="api.example.test:8000")
    assert (status, body["server_name"], body["host"]) == (200, "api.example.test", "api.example.test:8000")


async def test_the_setting_turns_verification_on_for_services_that_leave_it_unset(
    make_gateway, tls_upstream, http, pki
):
    upstream = await tls_upstream(pki["localhost"])
    url = f"https://localhost:{upstream.port}"
    gw = await make_gateway(
        tls_config(
            pki,
            {"name": "unset", "url": url},
            {"name": "off", "url": url, "tls_verify": False},
            {"name": "trusted", "url": url, "ca_certificates": [CA_ID]},
        ),
        nginx_proxy_proxy_ssl_verify=True,
    )
    assert (await get(http, gw, "/unset"))[0] == 502
    assert (await get(http, gw, "/off"))[0] == 200
    assert (await get(http, gw, "/trusted"))[0] == 200


@pytest.mark.parametrize(("depth", "status"), [(None, 200), (1, 200), (0, 502)])
async def test_verify_depth_counts_intermediate_certificates(
    make_gateway, tls_upstream, http, pki, depth, status
):
    upstream = await tls_upstream(pki["deep"], chain=(pki["intermediate"],))
    gw = await make_gateway(
        tls_config(
            pki,
            {
                "name": "deep",
                "url": f"https://localhost:{upstream.port}",
                "tls_verify": True,
                "tls_verify_depth": depth,
                "ca_certificates": [CA_ID],
            },
        )
    )
    assert (await get(http, gw, "/deep"))[0] == status


async def test_client_certificate_is_presented_to_an_upstream_that_requires_one(
    make_gateway, tls_upstream, http, pki
):
    upstream = await tls_upstream(pki["localhost"], client_ca=pki["root"])
    url = f"https://127.0.0.1:{upstream.port}"
    gw = await make_gateway(
        tls_config(
            pki,
            {"name": "mtls", "url": url, "client_certificate": {"id": CLIENT_CERT_ID}},
            {"name": "anonymous", "url": url},
        )
    )
    status, body = await get(http, gw, "/mtls")
    assert (status, body["client_cn"]) == (200, "gateway-client")
    assert (await get(http, gw, "/anonymous"))[0] == 502


async def test_connections_are_pooled_by_tls_options_and_contexts_cached(
    make_gateway, tls_upstream, http, pki
):
    upstream = await tls_upstream(pki["localhost"])
    url = f"https://localhost:{upstream.port}"
    gw = await make_gateway(
        tls_config(
            pki,
            {"name": "lax", "url": url, "tls_verify": False},
            {"name": "lax-too", "url": url, "tls_verify": False},
            {"name": "strict", "url": url, "tls_verify": True, "ca_certificates": [OTHER_CA_ID]},
        )
    )
    for _ in range(3):
        assert (await get(http, gw, "/lax"))[0] == 200
        assert (await get(http, gw, "/lax-too"))[0] == 200
    # a pooled connection made without verification is never handed to a verifying service
    assert (await get(http, gw, "/strict"))[0] == 502
    contexts = gw.gateway.client.tls._contexts
    assert len(contexts) == 2  # one per distinct set of options, not per request or service
    pools = [key for key, conns in gw.gateway.client._pools.items() if conns]
    assert len(pools) == 1 and pools[0][2][0] == "localhost"


def test_sni_of_host_values():
    assert sni_of("api.test:8443") == "api.test"
    assert sni_of("[::1]:8443") == "::1"
    assert sni_of("api.test") == "api.test"
