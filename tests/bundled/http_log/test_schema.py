"""http-log's schema: Kong 3.x's defaults, priority and messages."""

from __future__ import annotations

import pytest

from tests.bundled.http_log._helpers import errors_of, load_conf, spec_of


def test_defaults_and_priority():
    conf = load_conf("http-log", {"http_endpoint": "http://127.0.0.1:9/"})
    assert conf["method"] == "POST"
    assert conf["content_type"] == "application/json"
    assert (conf["timeout"], conf["keepalive"]) == (10000, 60000)
    assert conf["queue"] == {
        "max_batch_size": 1,
        "max_coalescing_delay": 1,
        "max_entries": 10000,
        "max_bytes": None,
        "max_retry_time": 60,
        "initial_retry_delay": 0.01,
        "max_retry_delay": 60,
        "concurrency_limit": 1,
    }
    assert conf["custom_fields_by_lua"] is None and conf["headers"] is None
    assert spec_of("http-log").priority == 12


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({}, "config.http_endpoint: required field missing"),
        ({"http_endpoint": "http://x/", "method": "GET"}, "config.method: expected one of: POST, PUT, PATCH"),
        (
            {"http_endpoint": "http://x/", "content_type": "text/plain"},
            "config.content_type: expected one of: application/json, application/json; charset=utf-8",
        ),
        (
            {"http_endpoint": "http://x/", "headers": {"Host": "y"}},
            "config.headers: cannot contain 'Host' header",
        ),
        (
            {"http_endpoint": "http://x/", "headers": {"content-length": "1"}},
            "config.headers: cannot contain 'Content-Length' header",
        ),
        (
            {"http_endpoint": "http://x/", "headers": {"Content-Type": "a"}},
            "config.headers: cannot contain 'Content-Type' header",
        ),
        (
            {"http_endpoint": "http://u:p@x/", "headers": {"Authorization": "Basic x"}},
            "config: specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed",
        ),
        (
            {"http_endpoint": "http://x/", "queue": {"max_batch_size": 0}},
            "config.queue.max_batch_size: value should be between 1 and 1000000",
        ),
        (
            {"http_endpoint": "http://x/", "queue": {"concurrency_limit": 2}},
            "config.queue.concurrency_limit: expected one of: -1, 1",
        ),
        (
            {"http_endpoint": "http://x/", "custom_fields_by_lua": {"f": "return ("}},
            'config.custom_fields_by_lua: Error parsing function: [string "return ("]:1: '
            "unexpected symbol near '<eof>'",
        ),
    ],
)
def test_validation_messages(conf, message):
    errors = errors_of("http-log", conf)
    assert any(message in e for e in errors), errors


def test_custom_fields_refused_when_untrusted_lua_is_off():
    from host.settings import Settings
    from pdk._settings import set_default_settings

    set_default_settings(Settings(untrusted_lua="off"))
    try:
        errors = errors_of(
            "http-log", {"http_endpoint": "http://x/", "custom_fields_by_lua": {"f": "return 1"}}
        )
    finally:
        set_default_settings(None)
    assert any(
        "Error parsing function: loading of untrusted Lua code disabled because "
        "'untrusted_lua' config option is set to 'off'" in e
        for e in errors
    ), errors


def test_bytecode_is_refused():
    errors = errors_of("http-log", {"http_endpoint": "http://x/", "custom_fields_by_lua": {"f": "\x1bLJ"}})
    assert any("attempt to load chunk with wrong mode" in e for e in errors), errors
