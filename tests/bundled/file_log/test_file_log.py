"""file-log: schema, one JSON line per request, reopen, custom fields, the doc example."""

from __future__ import annotations

import json
import os

import pytest

from tests.bundled.docs import example_config
from tests.bundled.http_log._helpers import errors_of, gateway_config, load_conf, spec_of
from tests.conftest import wait_until


def test_schema_defaults_and_messages():
    assert load_conf("file-log", {"path": "/tmp/x.log"}) == {
        "path": "/tmp/x.log",
        "reopen": False,
        "custom_fields_by_lua": None,
    }
    assert spec_of("file-log").priority == 9
    assert "config.path: required field missing" in errors_of("file-log", {})
    for bad in ("/tmp/a*b.log", " /tmp/x", "/tmp/x&y"):
        assert "config.path: not a valid filename" in errors_of("file-log", {"path": bad})


def _lines(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f.read().splitlines()]


async def test_one_json_line_per_request(gateway, mock_upstream, tmp_path):
    path = tmp_path / "access.log"
    gw = await gateway.start(gateway_config(mock_upstream, "file-log", {"path": str(path)}))
    for i in range(3):
        resp = await gw.get(f"/api/{i}", headers={"Proxy-Authorization": "Basic x"})
        assert resp.status == 200
    await wait_until(lambda: path.exists() and len(_lines(path)) == 3)
    entries = _lines(path)
    assert [e["request"]["uri"] for e in entries] == ["/api/0", "/api/1", "/api/2"]
    assert entries[0]["request"]["headers"]["proxy-authorization"] == "REDACTED"
    assert entries[0]["response"]["status"] == 200
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


@pytest.mark.parametrize("reopen", [True, False])
async def test_reopen_follows_a_rotated_file(gateway, mock_upstream, tmp_path, reopen):
    path = tmp_path / "access.log"
    gw = await gateway.start(gateway_config(mock_upstream, "file-log", {"path": str(path), "reopen": reopen}))
    resp = await gw.get("/api/before")
    assert resp.status == 200
    os.rename(path, tmp_path / "access.log.1")  # logrotate
    resp = await gw.get("/api/after")
    assert resp.status == 200
    rotated = _lines(tmp_path / "access.log.1")
    if reopen:
        assert [e["request"]["uri"] for e in _lines(path)] == ["/api/after"]
        assert len(rotated) == 1
    else:  # Kong keeps writing to the open descriptor
        assert not path.exists()
        assert [e["request"]["uri"] for e in rotated] == ["/api/before", "/api/after"]


async def test_unwritable_path_is_logged_and_the_client_served(gateway, mock_upstream, tmp_path, caplog):
    path = tmp_path / "missing-dir" / "access.log"
    gw = await gateway.start(gateway_config(mock_upstream, "file-log", {"path": str(path)}))
    resp = await gw.get("/api")
    assert resp.status == 200
    assert "failed to open the file: No such file or directory" in caplog.text


async def test_custom_fields(gateway, mock_upstream, tmp_path):
    path = tmp_path / "access.log"
    conf = {
        "path": str(path),
        "custom_fields_by_lua": {"status_class": "return math.floor(kong.response.get_status() / 100)"},
    }
    gw = await gateway.start(gateway_config(mock_upstream, "file-log", conf))
    resp = await gw.get("/api")
    assert resp.status == 200
    assert _lines(path)[0]["status_class"] == 2


async def test_doc_example(gateway, mock_upstream, tmp_path):
    config = example_config("file-log", mock_upstream.url)
    path = tmp_path / "kong-access.log"
    config["plugins"][0]["config"]["path"] = str(path)
    gw = await gateway.start(config)
    resp = await gw.get("/demo")
    assert resp.status == 200
    (entry,) = _lines(path)
    assert entry["request"]["uri"] == "/demo"
    assert entry["response"]["status"] == 200
