"""kong.service.request: the request sent upstream."""

from __future__ import annotations

import orjson
import pytest

from pdk import request
from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import Phase
from pdk.service import request as upstream

from ..test_request import MULTI


def test_enable_buffering_scheme_method(use):
    ctx = use()
    upstream.enable_buffering()
    assert ctx.buffered_proxying is True
    upstream.set_scheme("https")
    assert ctx.upstream_scheme == "https"
    upstream.set_method("POST")
    assert ctx.upstream_method == "POST"
    assert request.get_method() == "GET"  # the client request is unchanged
    with pytest.raises(PDKArgumentError, match="invalid scheme: ftp"):
        upstream.set_scheme("ftp")
    with pytest.raises(PDKArgumentError, match="invalid method: post"):
        upstream.set_method("post")
    with pytest.raises(PDKArgumentError, match="method must be a string"):
        upstream.set_method(None)


def test_set_path_escapes(use):
    ctx = use()
    upstream.set_path("/v2/a b/é/%2F/:@!$&'()*+,;=")
    assert ctx.upstream_path == "/v2/a%20b/%C3%A9/%2F/:@!$&'()*+,;="
    with pytest.raises(PDKArgumentError, match="path must start with /"):
        upstream.set_path("v2")
    with pytest.raises(PDKArgumentError, match="path must be a string"):
        upstream.set_path(2)


def test_set_raw_query_and_set_query(use):
    ctx = use(raw_query="a=1")
    upstream.set_raw_query("zzz&bar=baz")
    assert ctx.upstream_query == "zzz&bar=baz"
    upstream.set_raw_query("x=a b\r\n")
    assert ctx.upstream_query == "x=a%20b%0D%0A"
    upstream.set_query({"foo": "hello world", "bar": ["b", 2, True], "flag": True, "off": False, "a": 1.5})
    assert ctx.upstream_query == "a=1.5&bar=b&bar=2&bar&flag&foo=hello%20world"
    assert request.get_raw_query() == "a=1"
    with pytest.raises(PDKArgumentError, match="args must be a table"):
        upstream.set_query("a=1")
    with pytest.raises(PDKArgumentError, match="arg keys must be strings"):
        upstream.set_query({1: "a"})
    with pytest.raises(PDKArgumentError, match='invalid value for query argument "x"'):
        upstream.set_query({"x": {"nested": 1}})


def test_clear_query_arg(use):
    ctx = use(raw_query="apikey=s3cret&a=1&api%6Bey=again&b&apikey")
    upstream.clear_query_arg("apikey")
    assert ctx.upstream_query == "a=1&b"
    upstream.clear_query_arg("b")
    assert ctx.upstream_query == "a=1"
    with pytest.raises(PDKArgumentError, match="query argument name must be a string"):
        upstream.clear_query_arg(None)


def test_set_header_and_host(use):
    ctx = use(headers=MULTI)
    upstream.set_header("X-Another", "one")
    upstream.set_header("Host", "backend.internal")
    upstream.add_header("X-Tag", "a")
    upstream.add_header("x-tag", ["b", "c"])
    upstream.set_header("X_Underscore", "kept")  # request header names are not rewritten
    assert ctx.upstream_headers.getall("X-Another") == ["one"]
    assert ctx.upstream_headers.getall("X-Tag") == ["a", "b", "c"]
    assert ctx.upstream_headers["X_Underscore"] == "kept"
    assert ctx.upstream_host_header == "backend.internal"
    assert ctx.upstream_headers["Host"] == "example.com"
    # as under nginx, where set_header changes the request's headers: later readers see it
    assert request.get_header("X-Another") == "one"
    assert request.get_header("Host") == "backend.internal"
    upstream.clear_header("x-another")
    assert "X-Another" not in ctx.upstream_headers
    with pytest.raises(PDKArgumentError, match="header must be a string"):
        upstream.clear_header(1)


def test_set_header_rejects_injection(use):
    ctx = use()
    for value in ("v\r\nX-Evil: 1", ["a", "b\n"]):
        with pytest.raises(PDKArgumentError, match="must not contain CR, LF or NUL"):
            upstream.set_header("X-Foo", value)
    with pytest.raises(PDKArgumentError, match="must not contain CR, LF or NUL"):
        upstream.set_header("Host", "a\r\nb")
    assert ctx.upstream_host_header is None
    assert "X-Foo" not in ctx.upstream_headers


def test_authority_pseudo_header(use):
    ctx = use()
    with pytest.raises(PDKError, match="cannot set :authority pseudo-header on non-grpc requests"):
        upstream.set_header(":authority", "x")
    ctx.upstream_scheme = "grpcs"
    upstream.set_header(":authority", "grpc.example")
    assert ctx.upstream_host_header == "grpc.example"


def test_set_headers_sorted(use):
    ctx = use(headers=[("X-Old", "1")])
    upstream.set_headers({"X-B": "2", "X-A": ["1", "1b"], "host": "h.example"})
    assert list(ctx.upstream_headers.items()) == [("X-Old", "1"), ("X-A", "1"), ("X-A", "1b"), ("X-B", "2")]
    assert ctx.upstream_host_header == "h.example"
    with pytest.raises(PDKArgumentError, match="headers must be a table"):
        upstream.set_headers(["X-A"])


def test_set_raw_body_drops_framing(use):
    ctx = use(
        headers=[("Content-Length", "3"), ("Transfer-Encoding", "chunked"), ("Content-Type", "text/plain")]
    )
    upstream.set_raw_body("hello")
    assert ctx.upstream_body == b"hello"
    assert "Content-Length" not in ctx.upstream_headers and "Transfer-Encoding" not in ctx.upstream_headers
    assert ctx.upstream_headers["Content-Type"] == "text/plain"
    upstream.set_raw_body(b"\x00\x01")
    assert ctx.upstream_body == b"\x00\x01"
    with pytest.raises(PDKArgumentError, match="body must be a string"):
        upstream.set_raw_body({"a": 1})


def test_set_raw_body_in_balancer(use):
    ctx = use(phase=Phase.balancer)
    upstream.set_raw_body("x")
    assert ctx.upstream_body == b"x"


def test_set_body_json(use):
    ctx = use(headers=[("Content-Type", "application/json"), ("Content-Length", "2")])
    assert upstream.set_body({"name": "John", "n": [1, 2]}) is True
    assert orjson.loads(ctx.upstream_body) == {"name": "John", "n": [1, 2]}
    assert ctx.upstream_headers["Content-Type"] == "application/json"
    assert "Content-Length" not in ctx.upstream_headers


def test_set_body_urlencoded_with_mimetype(use):
    ctx = use(headers=[("Content-Type", "text/plain")])
    upstream.set_body({"b": "x y", "a": ["1", "2"]}, "application/x-www-form-urlencoded")
    assert ctx.upstream_body == b"a=1&a=2&b=x%20y"
    assert ctx.upstream_headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_set_body_multipart_round_trips(use):
    ctx = use(headers=[("Content-Type", "multipart/form-data; boundary=abc123")])
    upstream.set_body({"name": "John", "age": 42, "ok": True})
    assert ctx.upstream_headers["Content-Type"] == "multipart/form-data; boundary=abc123"
    assert ctx.upstream_body.startswith(
        b'--abc123\r\nContent-Disposition: form-data; name="age"\r\n\r\n42\r\n'
    )
    use(headers={"Content-Type": ctx.upstream_headers["Content-Type"]}, body=ctx.upstream_body)
    assert request.get_body() == {"age": "42", "name": "John", "ok": "true"}


def test_set_body_multipart_new_boundary_when_value_contains_it(use):
    ctx = use()
    upstream.set_body({"v": "x\n--abc"}, "multipart/form-data; boundary=abc")
    content_type = ctx.upstream_headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=") and not content_type.endswith("=abc")


def test_set_body_errors(use):
    use(headers={})
    with pytest.raises(PDKError, match="content type was neither explicitly given"):
        upstream.set_body({"a": 1})
    with pytest.raises(PDKArgumentError, match="unsupported content type text/plain"):
        upstream.set_body({"a": 1}, "text/plain")
    with pytest.raises(PDKArgumentError, match="args must be a table"):
        upstream.set_body("a=1", "application/json")
    with pytest.raises(PDKArgumentError, match="mime must be a string"):
        upstream.set_body({}, 1)
    with pytest.raises(PDKArgumentError, match='invalid value "a"'):
        upstream.set_body({"a": {"b": 1}}, "multipart/form-data")
