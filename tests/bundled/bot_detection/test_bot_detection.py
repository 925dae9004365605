"""bot-detection through real requests: the built-in list, allow/deny regexes, Kong's
403 and 400, the verdict cache per config, and the doc example."""

from __future__ import annotations

import pytest

from tests.bundled.auth_combined.support import gateway_config, validate
from tests.bundled.docs import example_config

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
    "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Playbook)",
    "Scrapy/2.11.0 (+https://scrapy.org)",
    "Python-urllib/3.11",
    "Go-http-client/1.1",
    "Apache-HttpClient/4.5.13 (Java/17)",
    "Mozilla/3.0 (compatible; HTTrack 3.0x; Windows 98)",
    "CCBot/2.0 (https://commoncrawl.org/faq/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0)",
    "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
]
HUMANS = [
    BROWSER,
    "curl/8.5.0",
    "Wget/1.21.4",
    "Python/3.11 aiohttp/3.9",
    "PostmanRuntime/7.36",
    "MyMobileApp/2.3 (iOS 17)",
]


def test_schema_defaults_and_errors():
    config, errors = validate("bot-detection", {})
    assert errors == []
    assert config == {"allow": [], "deny": []}
    _, errors = validate(
        "bot-detection",
        {"allow": ["(unclosed"], "deny": [5]},
        consumer={"id": "0c7b5d1e-8a6f-4e2b-9c3d-7f1e2d3c4b5a"},
    )
    assert ("consumer", "value must be null") in errors
    assert ("config.deny[0]", "expected a string") in errors
    assert [f for f, _ in errors if f == "config.allow[0]"] == ["config.allow[0]"]
    assert any("not a valid regex" in m for f, m in errors if f == "config.allow[0]")


async def start(gateway, mock_upstream, conf=None):
    plugins = [{"name": "bot-detection", "config": conf or {}}]
    return await gateway.start(gateway_config(mock_upstream.url, plugins))


async def status(gw, ua, path="/"):
    resp = await gw.get(path, headers={"User-Agent": ua})
    return resp.status, (resp.json()).get("message")


async def test_built_in_list(gateway, mock_upstream):
    gw = await start(gateway, mock_upstream)
    for ua in BOTS:
        assert await status(gw, ua) == (403, "Forbidden"), ua
        assert await status(gw, ua) == (403, "Forbidden"), ua  # cached verdict
    for ua in HUMANS:
        assert (await status(gw, ua))[0] == 200, ua
    resp = await gw.get("/", skip_auto_headers=["User-Agent"])
    assert resp.status == 200


async def test_allow_and_deny(gateway, mock_upstream):
    gw = await start(
        gateway, mock_upstream, {"allow": ["Googlebot"], "deny": ["^curl/", "MyMobileApp/[12]\\."]}
    )
    assert (await status(gw, BOTS[0]))[0] == 200  # allow wins over the built-in list
    assert await status(gw, "curl/8.5.0") == (403, "Forbidden")
    assert await status(gw, "MyMobileApp/2.3 (iOS 17)") == (403, "Forbidden")
    assert (await status(gw, "MyMobileApp/3.0"))[0] == 200
    assert (await status(gw, BOTS[1]))[0] == 403
    gw = await start(gateway, mock_upstream, {"allow": ["curl"], "deny": ["curl"]})
    assert (await status(gw, "curl/8.5.0"))[0] == 200  # allow is checked first


async def test_two_user_agents(gateway, mock_upstream):
    # the HTTP server refuses a repeated User-Agent before any plugin runs (the plugin's
    # own "Only one User-Agent header allowed" answer is its fallback): a 400 either way
    gw = await start(gateway, mock_upstream)
    resp = await gw.get("/", headers=[("User-Agent", "sqlmap"), ("User-Agent", "b")])
    assert resp.status == 400


async def test_verdicts_are_per_config(gateway, mock_upstream):
    plugins_a = [{"name": "bot-detection", "config": {"deny": ["^Special"]}}]
    config = gateway_config(mock_upstream.url, plugins_a, paths=("/a",))
    config["services"][0]["routes"].append(
        {"name": "b", "paths": ["/b"], "plugins": [{"name": "bot-detection"}]}
    )
    gw = await gateway.start(config)
    assert (await status(gw, "SpecialAgent/1", "/a"))[0] == 403
    assert (await status(gw, "SpecialAgent/1", "/b"))[0] == 200


@pytest.mark.parametrize(
    ("ua", "expected"), [("sqlmap/1.7", 403), ("PartnerBot/1.0", 200), ("BadClient/2", 403), ("curl/8", 200)]
)
async def test_doc_example(gateway, mock_upstream, ua, expected):
    gw = await gateway.start(example_config("bot-detection", mock_upstream.url))
    assert (await status(gw, ua, "/site"))[0] == expected
