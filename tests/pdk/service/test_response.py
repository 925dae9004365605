"""kong.service.response: what the upstream returned."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import Phase
from pdk.service import response as upstream_response


def _proxied(use, **fields):
    headers = CIMultiDict([("Content-Type", "application/json"), ("X-Up", "1"), ("x-up", "2")])
    fields.setdefault("phase", Phase.header_filter)
    return use(service_status=201, service_headers=headers, **fields)


def test_status_and_headers(use):
    ctx = _proxied(use)
    ctx.response_headers["X-Plugin"] = "added"
    assert upstream_response.get_status() == 201
    assert upstream_response.get_header("x_up") == "1"
    assert upstream_response.get_header("X-Plugin") is None  # only the upstream's headers
    assert upstream_response.get_headers() == {"content-type": "application/json", "x-up": ["1", "2"]}
    assert upstream_response.get_headers(1) == {"content-type": "application/json"}
    with pytest.raises(PDKArgumentError, match="name must be a string"):
        upstream_response.get_header(3)


def test_not_proxied(use):
    use(phase=Phase.log)
    assert upstream_response.get_status() is None
    assert upstream_response.get_headers() == {}
    assert upstream_response.get_header("X-Up") is None


def test_body_needs_buffering(use):
    _proxied(use, service_body=b'{"a": 1}')
    for call in (upstream_response.get_raw_body, upstream_response.get_body):
        with pytest.raises(PDKError, match="service body is only available with buffered proxying"):
            call()


def test_buffered_body(use):
    _proxied(use, service_body=b'{"a": [1, 2]}', buffered_proxying=True, phase=Phase.response)
    assert upstream_response.get_raw_body() == b'{"a": [1, 2]}'
    assert upstream_response.get_body() == {"a": [1, 2]}
    assert upstream_response.get_body("application/x-www-form-urlencoded") == {'{"a": [1, 2]}': True}
    with pytest.raises(PDKError, match="unsupported content type 'text/csv'"):
        upstream_response.get_body("text/csv")


def test_buffered_empty_body(use):
    _proxied(use, service_body=None, buffered_proxying=True)
    assert upstream_response.get_raw_body() == b""
    with pytest.raises(PDKError, match="invalid json body"):
        upstream_response.get_body()
