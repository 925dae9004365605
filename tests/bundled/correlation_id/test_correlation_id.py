"""correlation-id through real requests: generators, client ids, echo, the log serializer."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from host.config import load_data
from host.config.errors import ConfigError
from host.gateway import build_registry
from host.settings import Settings
from tests.bundled.docs import example_config
from tests.conftest import service, wait_until

PLUGINS = Path(__file__).parent / "plugins"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def cfg(upstream: Any, conf: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "correlation-id", "config": conf}, *extra],
    }


async def upstream_header(gw: Any, path: str, name: str, **kwargs: Any) -> tuple[str | None, Any]:
    resp = await gw.get(path, **kwargs)
    echo = resp.json()
    return {k.lower(): v for k, v in echo["headers"].items()}.get(name.lower()), resp.headers


def test_schema(tmp_path):
    registry = build_registry(Settings(plugins_dirs=[]))
    data = {"_format_version": "3.0", "plugins": [{"name": "correlation-id"}]}
    conf = load_data(data, registry, source="kong.yml").plugins[0]["config"]
    assert conf == {"header_name": "Kong-Request-ID", "generator": "uuid#counter", "echo_downstream": False}
    data["plugins"][0]["config"] = {"generator": "random"}
    with pytest.raises(ConfigError) as info:
        load_data(data, registry, source="kong.yml")
    assert info.value.errors == [
        "kong.yml: plugins[0] (name=correlation-id): config.generator: "
        "expected one of: uuid, uuid#counter, tracker"
    ]


async def test_uuid_counter_default(gateway, mock_upstream):
    gw = await gateway.start(cfg(mock_upstream, {}), plugins_dirs=[])
    ids = [(await upstream_header(gw, "/", "Kong-Request-ID"))[0] for _ in range(3)]
    worker = {i.split("#")[0] for i in ids}
    assert len(worker) == 1 and re.fullmatch(UUID, worker.pop())
    counters = [int(i.split("#")[1]) for i in ids]
    assert counters == [counters[0], counters[0] + 1, counters[0] + 2]
    # not echoed by default
    _, headers = await upstream_header(gw, "/", "Kong-Request-ID")
    assert "Kong-Request-ID" not in headers


async def test_uuid_generator_and_custom_header(gateway, mock_upstream):
    gw = await gateway.start(
        cfg(mock_upstream, {"generator": "uuid", "header_name": "X-Corr"}), plugins_dirs=[]
    )
    first, _ = await upstream_header(gw, "/", "X-Corr")
    second, _ = await upstream_header(gw, "/", "X-Corr")
    assert re.fullmatch(UUID, first) and re.fullmatch(UUID, second) and first != second


async def test_tracker_generator(gateway, mock_upstream):
    gw = await gateway.start(cfg(mock_upstream, {"generator": "tracker"}), plugins_dirs=[])
    value, _ = await upstream_header(gw, "/", "Kong-Request-ID")
    port = gw.url.rsplit(":", 1)[1]
    match = re.fullmatch(r"127\.0\.0\.1-(\d+)-(\d+)-(\d+)-(\d+)-(\d+\.\d{3})", value)
    assert match and match.group(1) == port
    assert int(match.group(2)) > 0  # worker pid


async def test_client_id_is_kept_and_echoed(gateway, mock_upstream):
    gw = await gateway.start(cfg(mock_upstream, {"echo_downstream": True}), plugins_dirs=[])
    value, headers = await upstream_header(gw, "/", "Kong-Request-ID", headers={"Kong-Request-ID": "abc"})
    assert value == "abc" and headers["Kong-Request-ID"] == "abc"
    value, headers = await upstream_header(gw, "/", "Kong-Request-ID")
    assert "#" in value and headers["Kong-Request-ID"] == value
    # an empty header is replaced
    value, _ = await upstream_header(gw, "/", "Kong-Request-ID", headers={"Kong-Request-ID": ""})
    assert "#" in value


async def test_echo_when_no_route_matched(gateway, mock_upstream):
    config = cfg(mock_upstream, {"echo_downstream": True, "generator": "uuid"})
    config["services"][0]["routes"] = [{"paths": ["/only"]}]
    gw = await gateway.start(config, plugins_dirs=[])
    resp = await gw.get("/elsewhere")
    assert resp.status == 404
    assert re.fullmatch(UUID, resp.headers["Kong-Request-ID"])


async def test_id_in_log_serializer(gateway, mock_upstream):
    gw = await gateway.start(
        cfg(mock_upstream, {"generator": "uuid"}, {"name": "corrid-log-capture"}), plugins_dirs=[PLUGINS]
    )
    record = sys.modules["moongate_plugins.corrid_log_capture"].RECORD
    record.clear()
    value, _ = await upstream_header(gw, "/", "Kong-Request-ID")
    await upstream_header(gw, "/", "Kong-Request-ID", headers={"Kong-Request-ID": "from-client"})
    await wait_until(lambda: len(record) == 2)
    assert record[0]["correlation_id"] == value
    assert record[1]["correlation_id"] == "from-client"
    assert record[1]["request"]["headers"]["kong-request-id"] == "from-client"


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("correlation-id", mock_upstream.url), plugins_dirs=[])
    value, headers = await upstream_header(gw, "/demo", "X-Correlation-ID")
    assert re.fullmatch(UUID, value) and headers["X-Correlation-ID"] == value
    _, headers = await upstream_header(gw, "/demo", "X-Correlation-ID", headers={"X-Correlation-ID": "abc"})
    assert headers["X-Correlation-ID"] == "abc"
