"""What sdk-docs/guide.md claims about its example plugins, checked through real requests.

Each test loads sdk-docs/examples/plugins as the plugins directory, starts a
gateway in front of the echo upstream and sends the requests the guide shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import sys

import aiohttp
import pytest

from host.logs import JsonFormatter
from tests.conftest import free_port
from tests.sdk_docs._support import EXAMPLES_DIR, example_config, fenced_blocks, guide_text

GUIDE_REQUEST_ID = "4a3de9ba623e0ad0cba41f2411286572"


def config(services=(), plugins=(), consumers=()):
    return {
        "_format_version": "3.0",
        "services": list(services),
        "plugins": list(plugins),
        "consumers": list(consumers),
    }


def echo_service(upstream, routes, plugins=(), name="echo"):
    return {"name": name, "url": upstream.url, "routes": routes, "plugins": list(plugins)}


# -- 1. What a plugin is; 3. kong.yml and precedence ----------------------------------------


@pytest.fixture
async def kong_yml_gateway(make_gateway, echo_upstream):
    return await make_gateway(example_config("kong.yml", echo_upstream.url), plugins_dirs=[EXAMPLES_DIR])


@pytest.mark.parametrize(
    ("path", "key", "greeting"),
    [
        ("/status", None, "hello from the global config"),
        ("/invoices", "bob-secret-key", "hello from the orders service"),
        ("/orders", "bob-secret-key", "hello from the orders route"),
        ("/orders", "alice-secret-key", "hello, alice"),
    ],
)
async def test_precedence_table(kong_yml_gateway, http, path, key, greeting):
    headers = {"apikey": key} if key else {}
    async with http.get(kong_yml_gateway.url + path, headers=headers) as resp:
        assert resp.status == 200
        assert resp.headers["X-Hello"] == greeting


async def test_no_key_ends_the_request_before_hello_world(kong_yml_gateway, http):
    async with http.get(kong_yml_gateway.url + "/orders") as resp:
        assert resp.status == 401
        assert await resp.json() == {"message": "No API key found in request"}
        assert "X-Hello" not in resp.headers
    async with http.get(kong_yml_gateway.url + "/orders", headers={"apikey": "not-a-known-key"}) as resp:
        assert resp.status == 401
        assert await resp.json() == {"message": "Invalid authentication credentials"}


async def test_static_key_auth_hides_the_key_and_shares_the_username(
    make_gateway, echo_upstream, http, tmp_path
):
    # a plugin that runs after static-key-auth reads what it left in kong.ctx.shared
    (tmp_path / "shared_reader.py").write_text(
        "PRIORITY = 1\nVERSION = '1.0.0'\n\n"
        "def access(kong, conf):\n"
        "    kong.service.request.set_header('X-User', kong.ctx.shared['authenticated_username'])\n"
        "    kong.service.request.set_header('X-Consumer', kong.client.get_consumer()['username'])\n"
    )
    cfg = example_config("kong.yml", echo_upstream.url)
    cfg["plugins"].append({"name": "shared-reader"})
    gw = await make_gateway(cfg, plugins_dirs=[EXAMPLES_DIR, tmp_path])
    async with http.get(gw.url + "/orders", headers={"apikey": "alice-secret-key"}) as resp:
        assert resp.status == 200
        echoed = await resp.json()
    assert "apikey" not in {h.lower() for h in echoed["headers"]}
    assert echoed["headers"]["X-User"] == "alice"
    assert echoed["headers"]["X-Consumer"] == "alice"


async def test_conf_has_defaults_and_injected_keys(make_gateway, echo_upstream, http, tmp_path):
    (tmp_path / "conf_dump.py").write_text(
        "import json\nPRIORITY = 1\nVERSION = '1.0.0'\n"
        "SCHEMA = [{'size': {'type': 'integer', 'default': 3, 'description': 'A number.'}}]\n\n"
        "def access(kong, conf):\n"
        "    kong.response.set_header('X-Conf', json.dumps(conf, sort_keys=True))\n"
    )
    route = {"name": "r", "paths": ["/"], "plugins": [{"name": "conf-dump"}]}
    gw = await make_gateway(config([echo_service(echo_upstream, [route])]), plugins_dirs=[tmp_path])
    async with http.get(gw.url + "/") as resp:
        conf = json.loads(resp.headers["X-Conf"])
    assert conf["size"] == 3
    assert conf["route_id"] and conf["service_id"] is None and conf["consumer_id"] is None
    assert {"plugin_instance_name", "__plugin_id", "__key__"} <= conf.keys()


# -- 2. Phases ----------------------------------------------------------------------------------


async def test_maintenance_answers_before_routing(make_gateway, echo_upstream, http, collector):
    cfg = config(
        [
            echo_service(
                echo_upstream, [{"name": "api", "paths": ["/api"]}, {"name": "health", "paths": ["/health"]}]
            )
        ],
        plugins=[
            {"name": "maintenance", "config": {"allow_paths": ["/health"], "retry_after": 60}},
            {"name": "log-to-http", "config": {"endpoint": collector.url}},
        ],
    )
    gw = await make_gateway(cfg, plugins_dirs=[EXAMPLES_DIR])
    for path in ("/api", "/no-route-here"):  # before routing: even a path no route matches
        async with http.get(gw.url + path) as resp:
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "60"
            assert await resp.json() == {"message": "Down for maintenance"}
    async with http.get(gw.url + "/health") as resp:
        assert resp.status == 200
    # after an exit in rewrite, the global configurations' log handlers still run
    entries = await collector.wait_for(3)
    assert sorted(e["response"]["status"] for e in entries) == [200, 503, 503]


async def test_response_digest_buffers_and_filters_still_run(make_gateway, echo_upstream, http):
    route = {
        "name": "r",
        "paths": ["/"],
        "plugins": [{"name": "response-digest"}, {"name": "api-version"}],
    }
    gw = await make_gateway(config([echo_service(echo_upstream, [route])]), plugins_dirs=[EXAMPLES_DIR])
    async with http.get(gw.url + "/bytes/300000") as resp:
        body = await resp.read()
        assert resp.status == 200
        assert len(body) == 300000
        assert resp.headers["X-Body-SHA256"] == hashlib.sha256(body).hexdigest()
        assert resp.headers["X-API-Version"] == "1"  # another plugin's header_filter ran too


async def test_log_never_delays_the_client(make_gateway, echo_upstream, http, collector):
    collector.delay = 1.0  # a slow log endpoint
    route = {"name": "r", "paths": ["/"]}
    plugins = [{"name": "log-to-http", "config": {"endpoint": collector.url}}]
    gw = await make_gateway(
        config([echo_service(echo_upstream, [route])], plugins), plugins_dirs=[EXAMPLES_DIR]
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with http.get(gw.url + "/logged?x=1") as resp:
        assert resp.status == 200
        await resp.read()
    assert loop.time() - started < 0.5
    assert collector.entries == []  # not logged yet: the log phase runs after the response
    (entry,) = await collector.wait_for(1)
    assert entry["request"]["uri"] == "/logged?x=1"
    assert entry["response"]["status"] == 200
    assert entry["route"]["name"] == "r"


async def test_a_failing_log_handler_does_not_affect_the_client(make_gateway, echo_upstream, http, caplog):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")
    plugins = [{"name": "log-to-http", "config": {"endpoint": f"http://127.0.0.1:{free_port()}/"}}]
    cfg = config([echo_service(echo_upstream, [{"name": "r", "paths": ["/"]}])], plugins)
    gw = await make_gateway(cfg, plugins_dirs=[EXAMPLES_DIR])
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 200
    for _ in range(200):
        if any("failed in phase 'log'" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.01)
    assert any("plugin 'log-to-http' failed in phase 'log'" in r.getMessage() for r in caplog.records)


# -- 4. Order, consumers ----------------------------------------------------------------------


async def test_exit_in_access_still_runs_the_collected_log_handlers(
    make_gateway, echo_upstream, http, collector
):
    cfg = example_config("kong.yml", echo_upstream.url)
    cfg["services"][0]["plugins"].append({"name": "log-to-http", "config": {"endpoint": collector.url}})
    gw = await make_gateway(cfg, plugins_dirs=[EXAMPLES_DIR])
    async with http.get(gw.url + "/orders") as resp:
        assert resp.status == 401
    async with http.get(gw.url + "/orders", headers={"apikey": "alice-secret-key"}) as resp:
        assert resp.status == 200
    entries = await collector.wait_for(2)
    by_status = {e["response"]["status"]: e for e in entries}
    assert by_status[401]["consumer"] is None
    assert by_status[200]["consumer"]["username"] == "alice"


# -- 5. Ending a request, and errors ------------------------------------------------------------


async def test_error_gives_kongs_standard_body(make_gateway, echo_upstream, http):
    route = {
        "name": "r",
        "paths": ["/"],
        "plugins": [{"name": "remote-auth", "config": {"url": echo_upstream.url}}],
    }
    gw = await make_gateway(config([echo_service(echo_upstream, [route])]), plugins_dirs=[EXAMPLES_DIR])
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 401
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        body = await resp.json()
    assert body == {"message": "Unauthorized", "request_id": resp.headers["X-Kong-Request-Id"]}


def _guide_error_response():
    ((block,),) = [fenced_blocks(guide_text(), "http")]
    head, _, body = block.partition("\n\n")
    status_line, *header_lines = head.splitlines()
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body.rstrip("\n")


async def test_failing_plugin_gives_the_500_and_log_line_shown(make_gateway, echo_upstream, http, caplog):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")
    route = {"name": "orders", "paths": ["/orders"], "plugins": [{"name": "late-header"}]}
    cfg = config([echo_service(echo_upstream, [route, {"name": "ok", "paths": ["/ok"]}])])
    gw = await make_gateway(cfg, plugins_dirs=[EXAMPLES_DIR])
    async with http.get(gw.url + "/orders") as resp:
        status, body = resp.status, await resp.text()
        request_id = resp.headers["X-Kong-Request-Id"]
        content_type = resp.headers["Content-Type"]
    want_status, want_headers, want_body = _guide_error_response()
    assert status == want_status == 500
    assert content_type == want_headers["Content-Type"]
    assert body == want_body.replace(GUIDE_REQUEST_ID, request_id)
    async with http.get(gw.url + "/ok") as resp:  # the worker keeps serving
        assert resp.status == 200

    (record,) = [r for r in caplog.records if "late-header" in r.getMessage()]
    line = json.loads(JsonFormatter().format(record))
    ((block,),) = [fenced_blocks(guide_text(), "json")]
    shown = json.loads(block.replace(GUIDE_REQUEST_ID, request_id))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line.pop("time"))
    shown.pop("time")
    assert line.pop("exc").startswith("Traceback") and shown.pop("exc") == "Traceback ..."
    assert line == shown


async def test_exit_in_header_filter_runs_each_header_filter_once(
    make_gateway, echo_upstream, http, tmp_path
):
    # as in Kong: the exit ends header_filter; no handler runs twice
    (tmp_path / "hf_exit.py").write_text(
        "PRIORITY = 2\nVERSION = '1.0.0'\nCALLS = []\n\n"
        "def header_filter(kong, conf):\n"
        "    CALLS.append(kong.response.get_source())\n"
        "    if kong.response.get_source() != 'exit':\n"
        "        kong.response.exit(502, {'message': 'replaced'})\n"
    )
    route = {"name": "r", "paths": ["/"], "plugins": [{"name": "hf-exit"}]}
    gw = await make_gateway(config([echo_service(echo_upstream, [route])]), plugins_dirs=[tmp_path])
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 502
        assert await resp.json() == {"message": "replaced"}
    assert sys.modules["moongate_plugins.hf_exit"].CALLS == ["service"]


async def test_error_in_access_still_runs_route_log_handlers(
    make_gateway, echo_upstream, http, collector, tmp_path
):
    # as in Kong: configs are still collected after a failing access handler, so the
    # route's log-to-http logs the 500
    (tmp_path / "boom.py").write_text(
        "PRIORITY = 2000\nVERSION = '1.0.0'\n\ndef access(kong, conf):\n    raise RuntimeError('boom')\n"
    )
    plugins = [{"name": "boom"}, {"name": "log-to-http", "config": {"endpoint": collector.url}}]
    routes = [{"name": "route-scoped", "paths": ["/route"], "plugins": plugins}]
    gw = await make_gateway(
        config([echo_service(echo_upstream, routes)]), plugins_dirs=[EXAMPLES_DIR, tmp_path]
    )
    async with http.get(gw.url + "/route") as resp:
        assert resp.status == 500
    for _ in range(100):
        if collector.entries:
            break
        await asyncio.sleep(0.02)
    assert len(collector.entries) == 1


# -- 6. Async I/O -----------------------------------------------------------------------------


@pytest.fixture
async def remote_auth_gateway(make_gateway, echo_upstream):
    def route(name, url, timeout=2000):
        return {
            "name": name,
            "paths": [f"/{name}"],
            "plugins": [{"name": "remote-auth", "config": {"url": url, "timeout": timeout}}],
        }

    routes = [
        route("valid", echo_upstream.url + "/status/200"),
        route("refused", echo_upstream.url + "/status/401"),
        route("down", f"http://127.0.0.1:{free_port()}/"),
        route("slow-auth", echo_upstream.url + "/delay/500", timeout=100),
        route("delayed", echo_upstream.url + "/delay/300"),
        {"name": "plain", "paths": ["/plain"]},
    ]
    return await make_gateway(config([echo_service(echo_upstream, routes)]), plugins_dirs=[EXAMPLES_DIR])


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/valid", 200, None),
        ("/refused", 403, "Forbidden"),
        ("/down", 503, "Authentication service unavailable"),
        ("/slow-auth", 503, "Authentication service unavailable"),
    ],
)
async def test_remote_auth(remote_auth_gateway, http, path, status, message):
    async with http.get(remote_auth_gateway.url + path, headers={"Authorization": "Bearer t"}) as resp:
        assert resp.status == status
        body = await resp.json()
    if message is None:
        assert body["headers"]["Authorization"] == "Bearer t"  # proxied
    else:
        assert body["message"] == message


async def test_remote_auth_logs_an_unreachable_service(remote_auth_gateway, http, caplog):
    caplog.set_level(logging.ERROR, logger="moongate.plugin")
    async with http.get(remote_auth_gateway.url + "/down", headers={"Authorization": "t"}) as resp:
        assert resp.status == 503
    (record,) = [r for r in caplog.records if r.name == "moongate.plugin"]
    assert record.getMessage().startswith("[remote-auth] auth service unreachable: ")
    assert record.plugin == "remote-auth" and len(record.request_id) == 32


async def test_awaiting_handlers_do_not_block_other_requests(remote_auth_gateway):
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:

        async def get(path):
            started = loop.time()
            async with session.get(remote_auth_gateway.url + path, headers={"Authorization": "t"}) as resp:
                await resp.read()
                return resp.status, loop.time() - started

        started = loop.time()
        results = await asyncio.gather(*(get("/delayed") for _ in range(10)), get("/plain"))
        total = loop.time() - started
    assert [status for status, _ in results] == [200] * 11
    assert total < 1.5  # ten 0.3 s auth calls overlap instead of taking 3 s
    assert results[-1][1] < 0.25  # the request without auth did not wait behind them


# -- 8. Worked example: api-version ------------------------------------------------------------


@pytest.fixture
async def api_version_gateway(make_gateway, echo_upstream):
    return await make_gateway(
        example_config("api-version.yml", echo_upstream.url), plugins_dirs=[EXAMPLES_DIR]
    )


@pytest.mark.parametrize(
    ("target", "headers", "upstream_version", "upstream_query", "deprecation"),
    [
        ("/catalog/items", {}, "2", "", None),
        ("/catalog/items", {"X-API-Version": "v3"}, "3", "", None),
        ("/catalog/items?api-version=1&limit=5", {}, "1", "limit=5", "true"),
    ],
)
async def test_api_version_table(
    api_version_gateway, http, target, headers, upstream_version, upstream_query, deprecation
):
    async with http.get(api_version_gateway.url + target, headers=headers) as resp:
        assert resp.status == 200
        assert resp.headers["X-API-Version"] == upstream_version
        assert resp.headers.get("Deprecation") == deprecation
        echoed = await resp.json()
    assert echoed["headers"]["X-API-Version"] == upstream_version
    assert echoed["query"] == upstream_query
    assert echoed["path"] == "/items"


async def test_api_version_refuses_unknown_versions(api_version_gateway, http):
    async with http.get(api_version_gateway.url + "/catalog/items", headers={"X-API-Version": "4"}) as resp:
        assert resp.status == 400
        assert await resp.json() == {"message": "unsupported API version: 4", "versions": ["1", "2", "3"]}
        assert "X-API-Version" not in resp.headers  # header_filter ran and found no version
        assert resp.headers["X-Kong-Response-Latency"]  # Kong answered: nothing was proxied


# -- phases outside requests, more exits and errors ------------------------------------------


async def test_init_worker_and_configure(make_gateway, echo_upstream, caplog, tmp_path):
    caplog.set_level(logging.ERROR, logger="moongate.gateway")
    (tmp_path / "lifecycle.py").write_text(
        "from pdk.errors import PDKPhaseError\n"
        "PRIORITY = 1\nVERSION = '1.0.0'\nSEEN = []\n\n"
        "def init_worker(kong):\n"
        "    SEEN.append(('init_worker', kong.ctx.shared, kong.ctx.plugin))\n"
        "    try:\n"
        "        kong.request.get_path()\n"
        "    except PDKPhaseError as exc:\n"
        "        SEEN.append(str(exc))\n\n"
        "def configure(kong, configs):\n"
        "    SEEN.append(('configure', sorted(c['route_id'] is None for c in configs or [])))\n"
    )
    (tmp_path / "unused_crash.py").write_text(
        "PRIORITY = 1\nVERSION = '1.0.0'\n\ndef init_worker(kong):\n    raise RuntimeError('no')\n"
    )
    route = {"name": "r", "paths": ["/"], "plugins": [{"name": "lifecycle"}]}
    cfg = config([echo_service(echo_upstream, [route])], plugins=[{"name": "lifecycle"}])
    gw = await make_gateway(cfg, plugins_dirs=[tmp_path])
    seen = sys.modules["moongate_plugins.lifecycle"].SEEN
    assert seen[0] == ("init_worker", None, None)
    assert seen[1].startswith("kong.request.get_path: function cannot be called in init_worker phase")
    assert seen[2] == ("configure", [False, True])  # every enabled configuration, in one list
    # a plugin enabled nowhere still had init_worker called; its failure did not stop the start
    assert "unused-crash" in gw.gateway.init_errors
    assert any("unused-crash" in r.getMessage() for r in caplog.records)


async def test_exit_in_response_still_runs_the_filters(make_gateway, echo_upstream, http, tmp_path):
    (tmp_path / "response_exit.py").write_text(
        "PRIORITY = 950\nVERSION = '1.0.0'\n\n"
        "def response(kong, conf):\n"
        "    if kong.service.response.get_status() == 404:\n"
        "        kong.response.exit(410, {'message': 'gone'})\n"
    )
    plugins = [{"name": "response-exit"}, {"name": "api-version"}]
    route = {"name": "r", "paths": ["/"], "plugins": plugins}
    gw = await make_gateway(
        config([echo_service(echo_upstream, [route])]), plugins_dirs=[EXAMPLES_DIR, tmp_path]
    )
    async with http.get(gw.url + "/status/404") as resp:
        assert resp.status == 410
        assert await resp.json() == {"message": "gone"}
        assert resp.headers["X-API-Version"] == "1"  # api-version's header_filter ran


async def test_error_after_headers_were_sent_closes_the_connection(make_gateway, echo_upstream, tmp_path):
    (tmp_path / "chunk_crash.py").write_text(
        "PRIORITY = 1\nVERSION = '1.0.0'\n\n"
        "def body_filter(kong, conf):\n"
        "    raise RuntimeError('in body_filter')\n"
    )
    route = {"name": "r", "paths": ["/"], "plugins": [{"name": "chunk-crash"}]}
    gw = await make_gateway(config([echo_service(echo_upstream, [route])]), plugins_dirs=[tmp_path])
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(gw.url + "/bytes/200000") as resp:
                assert resp.status == 200  # the headers went out before the body_filter failed
                await resp.read()


def test_pdk_error_classes():
    from pdk.errors import ExitSignal, PDKArgumentError, PDKError, PDKPhaseError

    assert issubclass(PDKPhaseError, PDKError)
    assert issubclass(PDKArgumentError, PDKError) and issubclass(PDKArgumentError, TypeError)
    assert issubclass(ExitSignal, BaseException) and not issubclass(ExitSignal, Exception)
