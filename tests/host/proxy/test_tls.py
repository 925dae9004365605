"""HTTPS proxy listeners through real TLS handshakes: certificates by SNI, reloads, the
certificate phase (Python and Lua), https-only routes, Kong's listen syntax.

Certificates are made at test time with ``cryptography`` (:func:`issue`).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from host.config import load_data
from host.gateway import Gateway, build_registry
from host.proxy.tls import parse_listeners, sni_candidates
from host.settings import Settings
from tests.conftest import free_port, service, wait_until

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"
TEST_PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
BOTH_LISTENERS = "127.0.0.1:0, 127.0.0.1:0 ssl"


# -- certificates made for the tests -------------------------------------------------------
@dataclass
class Issued:
    cert: str
    key: str
    x509: x509.Certificate
    private_key: Any


def issue(cn: str, *, kind: str = "ec", issuer: Issued | None = None, ca: bool = False) -> Issued:
    """A certificate for ``cn`` (also its DNS name), self-signed unless ``issuer`` signs it."""
    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.x509.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    cert = builder.sign(issuer.private_key if issuer else key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return Issued(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem, cert, key)


def common_name(der: bytes) -> str:
    cert = x509.load_der_x509_certificate(der)
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value  # type: ignore[return-value]


def client_context(*, tls12_cipher: str | None = None) -> ssl.SSLContext:
    """A client that accepts any certificate (the tests look at which one it got)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if tls12_cipher:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(tls12_cipher)
    return context


async def served_certificate(port: int, server_name: str | None, **options: Any) -> x509.Certificate:
    """Handshake with the gateway (SNI ``server_name``; none when None) and return its certificate."""
    _, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client_context(**options), server_hostname=server_name or ""
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der)
    finally:
        writer.close()


async def served_cn(port: int, server_name: str | None, **options: Any) -> str:
    cert = await served_certificate(port, server_name, **options)
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value  # type: ignore[return-value]


async def https(
    port: int, path: str = "/", server_name: str | None = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    """One request over a fresh TLS connection: status, response headers, JSON body (or text)."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector, auto_decompress=False) as session,
        session.get(
            f"https://127.0.0.1:{port}{path}",
            ssl=client_context(),
            server_hostname=server_name,
            headers=headers,
            allow_redirects=False,
        ) as resp,
    ):
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, dict(resp.headers), body


def plain_url(gateway: Gateway) -> str:
    return f"http://127.0.0.1:{gateway.proxy_port}"


def upstream_headers(body: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in body["headers"].items()}


def config(
    upstream: Any, *, certificates: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """One service on the echo upstream, routed from ``/``, with these certificates."""
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"name": "all", "paths": ["/"]}]}],
        "certificates": certificates or [],
        **extra,
    }


StartGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def start_gateway() -> AsyncIterator[StartGateway]:
    """``await start_gateway(config, listen=..., plugins_dirs=[...], **settings)`` -> a started Gateway."""
    started: list[Gateway] = []

    async def start(
        cfg: dict[str, Any],
        *,
        listen: str = BOTH_LISTENERS,
        plugins_dirs: list[Path] = [TEST_PLUGINS],  # noqa: B006 - never mutated
        **overrides: Any,
    ) -> Gateway:
        settings = Settings(
            proxy_listen=listen, status_listen="off", plugins_dirs=[str(d) for d in plugins_dirs], **overrides
        )
        registry = build_registry(settings)
        gateway = Gateway(settings, registry, load_data(cfg, registry, source="test.yml"))
        await gateway.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        await gateway.stop(grace=1.0)


# -- the listener and the default certificate --------------------------------------------
async def test_ssl_entry_is_an_https_listener_with_a_self_signed_default(start_gateway, echo_upstream, http):
    gw = await start_gateway(config(echo_upstream))
    ports = (gw.proxy_port, gw.proxy_ssl_port)
    assert 0 not in ports and ports[0] != ports[1]

    status, _, body = await https(gw.proxy_ssl_port, "/hello")
    assert status == 200
    assert upstream_headers(body)["x-forwarded-proto"] == "https"
    assert upstream_headers(body)["x-forwarded-port"] == str(gw.proxy_ssl_port)
    assert await served_cn(gw.proxy_ssl_port, None) == "localhost"

    async with http.get(plain_url(gw) + "/hello") as resp:  # the plain listener still serves http
        assert resp.status == 200
        assert upstream_headers(await resp.json())["x-forwarded-proto"] == "http"


async def test_no_ssl_entry_means_no_tls_listener(start_gateway, echo_upstream):
    gw = await start_gateway(config(echo_upstream), listen="127.0.0.1:0")
    assert gw.proxy_ssl_port == 0 and gw.proxy_port


async def test_ssl_cert_files_are_the_default_certificate(start_gateway, echo_upstream, tmp_path):
    rsa_pair, ec_pair = issue("default.test", kind="rsa"), issue("default-ec.test")
    files = {}
    for label, pair in (("rsa", rsa_pair), ("ec", ec_pair)):
        (tmp_path / f"{label}.crt").write_text(pair.cert)
        (tmp_path / f"{label}.key").write_text(pair.key)
        files[label] = (str(tmp_path / f"{label}.crt"), str(tmp_path / f"{label}.key"))
    gw = await start_gateway(
        config(echo_upstream),
        listen="127.0.0.1:0 ssl",
        ssl_cert=[files["rsa"][0], files["ec"][0]],
        ssl_cert_key=[files["rsa"][1], files["ec"][1]],
    )
    port = gw.proxy_ssl_port
    assert gw.proxy_port == 0
    assert await served_cn(port, "anything.test") == "default-ec.test"  # clients prefer ECDSA
    assert await served_cn(port, None, tls12_cipher="ECDHE-RSA-AES128-GCM-SHA256") == "default.test"


async def test_cipher_suite_sets_the_protocols(start_gateway, echo_upstream):
    gw = await start_gateway(config(echo_upstream), listen="127.0.0.1:0 ssl", ssl_cipher_suite="modern")
    assert await served_cn(gw.proxy_ssl_port, None) == "localhost"  # TLSv1.3
    with pytest.raises(ssl.SSLError):
        await served_cn(gw.proxy_ssl_port, None, tls12_cipher="ECDHE-RSA-AES128-GCM-SHA256")
    with pytest.raises(ValueError, match="ssl_cipher_suite: 'fips' is not supported"):
        await start_gateway(config(echo_upstream), listen="127.0.0.1:0 ssl", ssl_cipher_suite="fips")


# -- certificates by SNI -------------------------------------------------------------------
async def test_certificate_is_chosen_by_sni_exact_then_wildcards_then_star(start_gateway, echo_upstream):
    certs = {name: issue(name) for name in ("exact", "prefix", "suffix", "star", "exact-org")}

    def entity(label: str, *snis: str) -> dict[str, Any]:
        return {"cert": certs[label].cert, "key": certs[label].key, "snis": list(snis)}

    gw = await start_gateway(
        config(
            echo_upstream,
            certificates=[
                entity("exact", "a.example.com"),
                entity("prefix", "*.example.org"),
                entity("exact-org", "a.example.org"),
                entity("suffix", "shop.*"),
                entity("star", "*"),
            ],
        ),
        listen="127.0.0.1:0 ssl",
    )
    port = gw.proxy_ssl_port
    assert await served_cn(port, "a.example.com") == "exact"
    assert await served_cn(port, "A.Example.COM") == "exact"
    assert await served_cn(port, "x.example.org") == "prefix"
    assert await served_cn(port, "a.example.org") == "exact-org"  # an exact name beats a wildcard
    assert await served_cn(port, "shop.example") == "suffix"
    assert await served_cn(port, "other.test") == "star"
    assert await served_cn(port, None) == "localhost"  # no SNI: the default, not '*'
    status, _, _ = await https(port, "/", server_name="a.example.com")
    assert status == 200


async def test_routes_match_on_the_tls_server_name(start_gateway, echo_upstream):
    cfg = config(echo_upstream)
    cfg["services"] = [
        {
            **service(echo_upstream, name="a", path="/a-service"),
            "routes": [{"name": "a-only", "protocols": ["https"], "snis": ["a.example.com"], "paths": ["/"]}],
        },
        {**service(echo_upstream, name="other", path="/other"), "routes": [{"name": "all", "paths": ["/"]}]},
    ]
    gw = await start_gateway(cfg, listen="127.0.0.1:0 ssl")
    _, _, body = await https(gw.proxy_ssl_port, "/x", server_name="a.example.com")
    assert body["path"] == "/a-service/x"
    _, _, body = await https(gw.proxy_ssl_port, "/x", server_name="b.example.com")
    assert body["path"] == "/other/x"


def test_wildcard_candidates_follow_kong():
    assert sni_candidates("a.b.example.com") == ["a.b.example.com", "*.b.example.com", "a.b.example.*", "*"]
    assert sni_candidates("example.com") == ["example.com", "example.*", "*"]
    assert sni_candidates("localhost") == ["localhost", "*"]


async def test_cert_alt_serves_the_ecdsa_and_the_rsa_certificate(start_gateway, echo_upstream):
    rsa_cert, ec_cert = issue("dual-rsa", kind="rsa"), issue("dual-ec")
    entity = {
        "cert": rsa_cert.cert,
        "key": rsa_cert.key,
        "cert_alt": ec_cert.cert,
        "key_alt": ec_cert.key,
        "snis": ["dual.test"],
    }
    gw = await start_gateway(config(echo_upstream, certificates=[entity]), listen="127.0.0.1:0 ssl")
    port = gw.proxy_ssl_port
    assert await served_cn(port, "dual.test", tls12_cipher="ECDHE-ECDSA-AES128-GCM-SHA256") == "dual-ec"
    assert await served_cn(port, "dual.test", tls12_cipher="ECDHE-RSA-AES128-GCM-SHA256") == "dual-rsa"


async def test_a_reload_switches_certificates_for_new_handshakes(start_gateway, echo_upstream):
    old, new = issue("old"), issue("new")
    first = config(echo_upstream, certificates=[{"cert": old.cert, "key": old.key, "snis": ["api.test"]}])
    gw = await start_gateway(first, listen="127.0.0.1:0 ssl")
    port = gw.proxy_ssl_port
    assert await served_cn(port, "api.test") == "old"

    second = config(echo_upstream, certificates=[{"cert": new.cert, "key": new.key, "snis": ["api.test"]}])
    await gw.apply(load_data(second, gw.registry, source="reload.yml"))
    assert await served_cn(port, "api.test") == "new"

    await gw.apply(load_data(config(echo_upstream), gw.registry, source="none.yml"))
    assert await served_cn(port, "api.test") == "localhost"  # no SNI entity left: the default


async def test_a_certificate_that_cannot_be_loaded_fails_its_handshakes(start_gateway, echo_upstream, caplog):
    unresolved = {"cert": "{vault://env/tls-cert}", "key": "{vault://env/tls-key}", "snis": ["vault.test"]}
    gw = await start_gateway(config(echo_upstream, certificates=[unresolved]), listen="127.0.0.1:0 ssl")
    with caplog.at_level(logging.ERROR, logger="moongate.tls"), pytest.raises(ssl.SSLError):
        await served_cn(gw.proxy_ssl_port, "vault.test")
    assert "could not load certificate" in caplog.text and "handshake from 127.0.0.1 aborted" in caplog.text
    assert await served_cn(gw.proxy_ssl_port, "other.test") == "localhost"


# -- the certificate phase -----------------------------------------------------------------
def probe_config(upstream: Any, name: str, **conf: Any) -> dict[str, Any]:
    return config(upstream, plugins=[{"name": name, "config": conf}])


def python_probe() -> Any:
    """The ``tls-probe`` module the running gateway loaded (tests/plugins/tls_probe)."""
    return sys.modules["moongate_plugins.tls_probe"]


async def test_certificate_phase_python_plugin_sees_the_server_name(start_gateway, echo_upstream, http):
    gw = await start_gateway(probe_config(echo_upstream, "tls-probe", client_verify="FAILED:unknown CA"))
    tls_probe = python_probe()
    status, _, body = await https(gw.proxy_ssl_port, "/", "probe.test", **{"X-Test-Id": "py-1"})
    assert status == 200
    (seen,) = tls_probe.HANDSHAKES
    assert seen["server_name"] == "probe.test" and seen["ip"] == "127.0.0.1" and seen["port"] > 0
    assert "request_client_certificate is not supported by Moongate" in seen["mtls"]
    assert "function cannot be called in certificate phase" in seen["request_api"]

    sent = upstream_headers(body)
    assert sent["x-tls-server-name"] == "probe.test"
    assert (sent["x-tls-scheme"], sent["x-tls-protocol"]) == ("https", "https")
    assert sent["x-tls-client-chain"] == "none"  # no client certificate was asked for
    await wait_until(lambda: "py-1" in tls_probe.LOGGED)
    logged = tls_probe.LOGGED["py-1"]
    assert logged["version"] == "TLSv1.3" and logged["cipher"]
    assert logged["client_verify"] == "FAILED:unknown CA"

    # plain HTTP: no handshake, no TLS facts
    async with http.get(plain_url(gw) + "/", headers={"X-Test-Id": "py-2"}) as resp:
        sent = upstream_headers(await resp.json())
    assert (sent["x-tls-server-name"], sent["x-tls-scheme"], sent["x-tls-protocol"]) == (
        "none",
        "http",
        "http",
    )
    assert sent["x-tls-client-chain"].startswith("error: connection is not TLS")
    await wait_until(lambda: "py-2" in tls_probe.LOGGED)
    assert tls_probe.LOGGED["py-2"] is None and len(tls_probe.HANDSHAKES) == 1


async def test_certificate_phase_lua_plugin_reads_ngx_ssl(start_gateway, echo_upstream):
    gw = await start_gateway(
        probe_config(echo_upstream, "tls-probe-lua"),
        plugins_dirs=[LUA_PLUGINS],
        listen="127.0.0.1:0 ssl",
    )
    port = gw.proxy_ssl_port
    status, _, body = await https(port, "/", "lua.test")
    assert status == 200
    sent = upstream_headers(body)
    assert sent["x-lua-cert-sni"] == "lua.test"
    assert sent["x-lua-cert-phase"] == "ssl_cert"
    assert sent["x-lua-cert-port"] == str(port)
    assert sent["x-lua-cert-mtls"].startswith("nil: request_client_certificate is not supported by Moongate")
    assert sent["x-lua-cert-reuse"].startswith("nil: disable_session_reuse is not supported by Moongate")
    assert sent["x-lua-cert-set-cert"].startswith("ngx.ssl.set_cert is not supported by Moongate")
    assert sent["x-lua-client-chain"] == "none"
    assert (
        sent["x-lua-set-verify"].startswith("false: ")
        and "unknown client verify value: MAYBE" in sent["x-lua-set-verify"]
    )
    assert (sent["x-lua-sni"], sent["x-lua-client-tls-sni"]) == ("lua.test", "lua.test")
    assert sent["x-lua-tls-version"] == "TLSv1.3"


@pytest.mark.parametrize(
    ("plugin", "conf", "message"),
    [
        ("tls-probe", {"fail_on": "bad.test"}, "refusing bad.test"),
        ("tls-probe", {"wait_on": "bad.test"}, "waited for I/O"),
        ("tls-probe-lua", {"fail_on": "bad.test"}, "refusing bad.test"),
    ],
)
async def test_a_failing_certificate_handler_aborts_only_that_handshake(
    start_gateway, echo_upstream, caplog, plugin, conf, message
):
    gw = await start_gateway(
        probe_config(echo_upstream, plugin, **conf),
        plugins_dirs=[TEST_PLUGINS, LUA_PLUGINS],
        listen="127.0.0.1:0 ssl",
    )
    port = gw.proxy_ssl_port
    with caplog.at_level(logging.ERROR, logger="moongate.tls"), pytest.raises(ssl.SSLError):
        await served_cn(port, "bad.test")
    failure = next(r for r in caplog.records if r.name == "moongate.tls")
    assert f"plugin '{plugin}' failed in certificate" in failure.getMessage()
    assert message in failure.getMessage()
    status, _, _ = await https(port, "/", "good.test")  # the gateway goes on serving
    assert status == 200


# -- https-only routes ---------------------------------------------------------------------
@pytest.mark.parametrize("code", [426, 301, 302, 307, 308])
async def test_https_only_route_over_http_is_refused_or_redirected(start_gateway, echo_upstream, http, code):
    route = {
        "name": "secure",
        "paths": ["/secure"],
        "protocols": ["https"],
        "https_redirect_status_code": code,
    }
    gw = await start_gateway(
        {"_format_version": "3.0", "services": [{**service(echo_upstream), "routes": [route]}]},
    )
    async with http.get(
        plain_url(gw) + "/secure/x?y=1", headers={"Host": "api.test"}, allow_redirects=False
    ) as resp:
        assert resp.status == code
        if code == 426:
            assert await resp.json() == {"message": "Please use HTTPS protocol"} | {
                "request_id": resp.headers["X-Kong-Request-Id"]
            }
            assert (resp.headers["Connection"], resp.headers["Upgrade"]) == ("Upgrade", "TLS/1.2, HTTP/1.1")
        else:
            assert resp.headers["Location"] == "https://api.test/secure/x?y=1"
    status, _, body = await https(gw.proxy_ssl_port, "/secure/x")
    assert status == 200 and body["path"] == "/x"  # strip_path


# -- proxy_listen ----------------------------------------------------------------------------
def test_listen_syntax_follows_kong(caplog):
    with caplog.at_level(logging.INFO, logger="moongate.tls"):
        listeners = parse_listeners(
            "0.0.0.0:8000 reuseport backlog=16384, [::1]:8443 http2 ssl backlog=511 proxy_protocol"
        )
    assert [(x.host, x.port, x.ssl, x.backlog) for x in listeners] == [
        ("0.0.0.0", 8000, False, 16384),
        ("::1", 8443, True, 511),
    ]
    assert "flag 'proxy_protocol' is not supported by Moongate: ignored" in caplog.text
    assert "flag 'http2' accepted" in caplog.text
    assert parse_listeners("off") == []
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        parse_listeners("localhost ssl")


async def test_cli_takes_repeated_listen_options(tmp_path, echo_upstream, http):
    plain, tls, status = free_port(), free_port(), free_port()
    (tmp_path / "kong.yml").write_text(json.dumps(config(echo_upstream)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "MOONGATE_"))}
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "host.cli", "start", "-c", str(tmp_path / "kong.yml")),
        *("--proxy-listen", f"127.0.0.1:{plain}", "--proxy-listen", f"127.0.0.1:{tls} ssl http2"),
        *("--status-listen", f"127.0.0.1:{status}"),
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(400):  # up to 20 s to start
            try:
                async with http.get(f"http://127.0.0.1:{status}/status/ready") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        answer, _, body = await https(tls, "/cli")
        assert (answer, upstream_headers(body)["x-forwarded-proto"]) == (200, "https")
        async with http.get(f"http://127.0.0.1:{plain}/cli") as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
