"""cors through real requests: preflight answers with Kong's exact headers, headers on
actual responses, exact/regex/`*` origins, credentials, Vary, preflight_continue,
private network, and the doc example."""

from __future__ import annotations

import pytest

from tests.bundled.auth_combined.support import gateway_config, validate
from tests.bundled.docs import example_config

ALL_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
CORS_HEADERS = ("access-control-", "vary")


def test_schema_defaults_and_errors():
    config, errors = validate("cors", {})
    assert errors == []
    assert config == {
        "origins": None, "headers": None, "exposed_headers": None, "methods": ALL_METHODS.split(","),
        "max_age": None, "credentials": False, "private_network": False, "preflight_continue": False,
        "allow_origin_absent": True,
    }  # fmt: skip
    _, errors = validate(
        "cors",
        {
            "origins": ["*", "https://ok.com", "(bad"],
            "methods": ["GET", "FETCH"],
            "max_age": "x",
            "credentials": 1,
        },
    )
    assert sorted(errors) == [
        ("config.credentials", "expected a boolean"),
        ("config.max_age", "expected a number"),
        (
            "config.methods[1]",
            "expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, TRACE, CONNECT",
        ),
        ("config.origins[2]", "'(bad' is not a valid regex"),
    ]


async def start(gateway, mock_upstream, conf=None):
    return await gateway.start(gateway_config(mock_upstream.url, [{"name": "cors", "config": conf or {}}]))


def cors_headers(resp) -> dict[str, str]:
    return {k.lower(): v for k, v in resp.headers.items() if k.lower().startswith(CORS_HEADERS)}


async def preflight(gw, origin="http://a.com", **extra):
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST", **extra}
    resp = await gw.request("OPTIONS", "/", headers=headers)
    return resp.status, cors_headers(resp), resp.body


async def test_preflight_defaults(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream)
    status, headers, body = await preflight(gw, **{"Access-Control-Request-Headers": "X-Foo, Content-Type"})
    assert status == 200
    assert body == b""
    assert headers == {
        "access-control-allow-origin": "*",
        "access-control-allow-headers": "X-Foo, Content-Type",
        "access-control-allow-methods": ALL_METHODS,
    }
    status, headers, _ = await preflight(gw)
    assert "access-control-allow-headers" not in headers


async def test_preflight_with_everything(gateway, mock_upstream):
    conf = {
        "origins": ["http://a.com", "http://b.com"], "methods": ["GET", "POST"], "headers": ["X-A", "X-B"],
        "exposed_headers": ["X-E"], "credentials": True, "max_age": 3600, "private_network": True,
    }  # fmt: skip
    gw = await start(gateway, mock_upstream, conf)
    status, headers, _ = await preflight(
        gw, "http://b.com", **{"Access-Control-Request-Private-Network": "true"}
    )
    assert status == 200
    assert headers == {
        "access-control-allow-origin": "http://b.com",
        "access-control-allow-credentials": "true",
        "access-control-allow-headers": "X-A,X-B",
        "access-control-allow-methods": "GET,POST",
        "access-control-max-age": "3600",
        "access-control-allow-private-network": "true",
        "vary": "Origin",
    }
    status, headers, _ = await preflight(gw, "http://evil.com")
    assert status == 200
    assert "access-control-allow-origin" not in headers
    assert "access-control-allow-private-network" not in headers
    assert headers["vary"] == "Origin"


async def test_actual_request_headers(gateway, mock_upstream):
    gw = await start(
        gateway,
        mock_upstream,
        {"origins": ["http://a.com", "http://b.com"], "exposed_headers": ["X-E", "X-F"], "credentials": True},
    )
    resp = await gw.get("/", headers={"Origin": "http://a.com"})
    assert resp.status == 200
    assert cors_headers(resp) == {
        "access-control-allow-origin": "http://a.com",
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "X-E,X-F",
        "vary": "Origin",
    }
    # OPTIONS without Access-Control-Request-Method is not a preflight: proxied
    resp = await gw.request("OPTIONS", "/", headers={"Origin": "http://a.com"})
    assert resp.headers["X-Upstream"] == "echo"
    assert resp.headers["Access-Control-Allow-Origin"] == "http://a.com"


async def test_single_origin_is_sent_as_configured(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"origins": ["http://a.com"]})
    resp = await gw.get("/", headers={"Origin": "http://other.com"})
    assert resp.headers["Access-Control-Allow-Origin"] == "http://a.com"
    assert resp.headers["Vary"] == "Origin"
    resp = await gw.get("/")  # allow_origin_absent (default true)
    assert resp.headers["Access-Control-Allow-Origin"] == "http://a.com"
    gw = await start(gateway, mock_upstream, {"origins": ["http://a.com"], "allow_origin_absent": False})
    resp = await gw.get("/")
    assert cors_headers(resp) == {}


@pytest.mark.parametrize(
    ("origins", "origin", "allowed"),
    [
        (["http://a.com", "https://.*\\.example\\.org"], "https://x.example.org", "https://x.example.org"),
        (["http://a.com", "https://.*\\.example\\.org"], "https://x.example.org.evil.com", None),
        (["http://a.com", "https://.*\\.example\\.org"], "http://x.example.org", None),
        (
            ["http://a.com", ".*\\.example\\.org"],
            "http://y.example.org:8080",
            "http://y.example.org:8080",
        ),  # by host
        (["http://a.com", "^https://[a-z]+\\.test$"], "https://abc.test", "https://abc.test"),
        (["http://a.com:80", "http://b.com"], "http://a.com", "http://a.com"),  # default port normalized
        (["http://a.com", "http://b.com"], "http://a.com:80", "http://a.com"),
        (["http://a.com", "http://b.com"], "http://a.com:8080", None),
        (["http://a.com", "*"], "http://anything.com", "*"),
    ],
)
async def test_origin_matching(gateway, mock_upstream, origins, origin, allowed):
    gw = await start(gateway, mock_upstream, {"origins": origins})
    resp = await gw.get("/", headers={"Origin": origin})
    assert resp.headers.get("Access-Control-Allow-Origin") == allowed
    assert resp.headers["Vary"] == "Origin"


async def test_credentials_with_any_origin_echo_the_origin(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"credentials": True})
    status, headers, _ = await preflight(gw, "http://c.com")
    assert headers["access-control-allow-origin"] == "http://c.com"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["vary"] == "Origin"
    gw = await start(gateway, mock_upstream)
    resp = await gw.get("/", headers={"Origin": "http://c.com"})
    assert cors_headers(resp) == {"access-control-allow-origin": "*"}


async def test_preflight_continue(gateway, mock_upstream):
    gw = await start(
        gateway, mock_upstream, {"preflight_continue": True, "origins": ["http://a.com", "http://b.com"]}
    )
    headers = {"Origin": "http://a.com", "Access-Control-Request-Method": "POST"}
    resp = await gw.request("OPTIONS", "/", headers=headers)
    assert resp.headers["X-Upstream"] == "echo"
    assert cors_headers(resp) == {}


async def test_vary_is_added_to_the_upstreams(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream, {"origins": ["http://a.com", "http://b.com"]})
    resp = await gw.get("/anything", headers={"Origin": "http://b.com"})
    assert resp.headers.getall("Vary")[-1] == "Origin"


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("cors", mock_upstream.url))
    headers = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}
    resp = await gw.request("OPTIONS", "/api", headers=headers)
    assert resp.status == 200
    assert cors_headers(resp) == {
        "access-control-allow-origin": "https://app.example.com",
        "access-control-allow-credentials": "true",
        "access-control-allow-headers": "Authorization,Content-Type",
        "access-control-allow-methods": "GET,POST",
        "access-control-max-age": "3600",
        "vary": "Origin",
    }
    resp = await gw.get("/api", headers={"Origin": "https://docs.example.org"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://docs.example.org"
    assert resp.headers["Access-Control-Expose-Headers"] == "X-Request-Id"
