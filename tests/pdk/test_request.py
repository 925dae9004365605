"""kong.request: the client request, read-only."""

from __future__ import annotations

import pytest

from pdk import request
from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import Phase

MULTI = [("Host", "example.com"), ("X-Another", "foo bar"), ("x-another", "baz"), ("X-Custom-Header", "bla")]


def test_url_parts(use):
    use(scheme="https", method="PATCH", http_version=2.0, port=8443)
    assert request.get_scheme() == "https"
    assert request.get_host() == "example.com"
    assert request.get_port() == 8443
    assert request.get_method() == "PATCH"
    assert request.get_http_version() == 2.0


def test_paths_and_query(use):
    use(
        raw_path="/v1/./movies//x",
        path="/v1/movies/x",
        raw_query="a=1&b",
        request_uri="/v1/./movies//x?a=1&b",
    )
    assert request.get_path() == "/v1/movies/x"
    assert request.get_raw_path() == "/v1/./movies//x"
    assert request.get_path_with_query() == "/v1/./movies//x?a=1&b"
    assert request.get_raw_query() == "a=1&b"


def test_get_header_is_case_insensitive_and_accepts_underscores(use):
    use(headers=MULTI)
    assert request.get_header("x-custom-header") == "bla"
    assert request.get_header("X_CUSTOM_HEADER") == "bla"
    assert request.get_header("X-Another") == "foo bar"  # first value
    assert request.get_header("missing") is None


def test_get_header_rejects_non_strings(use):
    use()
    with pytest.raises(PDKArgumentError, match="header name must be a string"):
        request.get_header(42)


def test_get_headers_lower_cases_and_lists_repeats(use):
    use(headers=MULTI)
    headers = request.get_headers()
    assert headers == {"host": "example.com", "x-another": ["foo bar", "baz"], "x-custom-header": "bla"}
    assert headers["X_Custom_Header"] == "bla"
    assert headers.get("X-ANOTHER") == ["foo bar", "baz"]
    assert "x_custom_header" in headers
    assert headers["nope"] is None


def test_get_headers_max_headers(use):
    use(headers=MULTI)
    assert list(request.get_headers(2)) == ["host", "x-another"]
    assert request.get_headers(2)["x-another"] == "foo bar"
    for bad, message in (
        (0, "max_headers must be >= 1"),
        (1001, "max_headers must be <= 1000"),
        ("3", "number"),
    ):
        with pytest.raises(PDKArgumentError, match=message):
            request.get_headers(bad)


def test_defaults_follow_settings(use):
    ctx = use(headers=MULTI, raw_query="a=1&b=2&c=3")
    ctx.settings.lua_max_req_headers = 1
    ctx.settings.lua_max_uri_args = 2
    assert request.get_headers() == {"host": "example.com"}
    assert request.get_query() == {"a": "1", "b": "2"}
    assert request.get_query(3) == {"a": "1", "b": "2", "c": "3"}


def test_query_flags_repeats_and_decoding(use):
    use(raw_query="foo=hello%20world&bar=baz&zzz&blo=&bar=bla&bar&plus=a+b&=skipped")
    assert request.get_query() == {
        "foo": "hello world",
        "bar": ["baz", "bla", True],
        "zzz": True,
        "blo": "",
        "plus": "a b",
    }
    assert request.get_query_arg("foo") == "hello world"
    assert request.get_query_arg("bar") == "baz"
    assert request.get_query_arg("zzz") is True
    assert request.get_query_arg("blo") == ""
    assert request.get_query_arg("none") is None


def test_get_query_max_args_and_isolation(use):
    use(raw_query="a=1&b=2&c=3")
    assert request.get_query(2) == {"a": "1", "b": "2"}
    first = request.get_query()
    first["a"] = "changed"
    assert request.get_query()["a"] == "1"
    with pytest.raises(PDKArgumentError, match="max_args must be <= 1000"):
        request.get_query(5000)
    with pytest.raises(PDKArgumentError, match="query argument name must be a string"):
        request.get_query_arg(1)


def test_forwarded_values_ignored_from_untrusted_peer(use):
    headers = [
        ("X-Forwarded-Proto", "HTTPS"),
        ("X-Forwarded-Host", "user@Example.ORG:9443"),
        ("X-Forwarded-Path", "/outer"),
        ("X-Forwarded-Prefix", "/pre"),
    ]
    use(headers=headers, path="/inner", stripped_prefix="/api")
    assert request.get_forwarded_scheme() == "http"
    assert request.get_forwarded_host() == "example.com"
    assert request.get_forwarded_port() == 8000
    assert request.get_forwarded_path() == "/inner"
    assert request.get_forwarded_prefix() == "/api"


def test_forwarded_values_from_trusted_peer(use):
    headers = [
        ("X-Forwarded-Proto", "HTTPS"),
        ("X-Forwarded-Host", "user@Example.ORG:9443"),
        ("X-Forwarded-Path", "/outer"),
        ("X-Forwarded-Prefix", "/pre"),
    ]
    use(headers=headers, path="/inner", trusted_ips=["10.0.0.0/8"])
    assert request.get_forwarded_scheme() == "https"
    assert request.get_forwarded_host() == "example.org"
    assert request.get_forwarded_port() == 9443  # from X-Forwarded-Host
    assert request.get_forwarded_path() == "/outer"
    assert request.get_forwarded_prefix() == "/pre"


def test_forwarded_port_header_wins_and_bad_ports_fall_back(use):
    ctx = use(headers=[("X-Forwarded-Port", "8443"), ("X-Forwarded-Host", "h:1")], trusted_ips=["0.0.0.0/0"])
    assert request.get_forwarded_port() == 8443
    use(headers=[("X-Forwarded-Port", "99999"), ("X-Forwarded-Host", "h")], trusted_ips=["0.0.0.0/0"])
    assert request.get_forwarded_port() == 8000
    assert ctx.port == 8000


def test_forwarded_prefix_none_without_strip(use):
    use(stripped_prefix="/")
    assert request.get_forwarded_prefix() is None
    use()
    assert request.get_forwarded_prefix() is None


def test_raw_body(use):
    use(body=b'{"a": 1}')
    assert request.get_raw_body() == b'{"a": 1}'
    use(body=None)
    assert request.get_raw_body() == b""
    use(body=None, body_too_large=True)
    with pytest.raises(PDKError, match="did not fit into client body buffer"):
        request.get_raw_body()


def test_get_body_json(use):
    use(headers={"Content-Type": "application/json; charset=utf-8"}, body=b'{"name": "John", "tags": [1, 2]}')
    assert request.get_body() == {"name": "John", "tags": [1, 2]}
    use(headers={"Content-Type": "application/json"}, body=b"[1, 2]")
    assert request.get_body() == [1, 2]
    for body in (b'"a string"', b"{not json", b""):
        use(headers={"Content-Type": "application/json"}, body=body)
        with pytest.raises(PDKError, match="invalid json body"):
            request.get_body()


def test_get_body_urlencoded(use):
    body = b"name=John+Doe&age=42&tag=a&tag=b&flag&city=S%C3%A3o%20Paulo"
    use(headers={"Content-Type": "application/x-www-form-urlencoded"}, body=body)
    assert request.get_body() == {
        "name": "John Doe",
        "age": "42",
        "tag": ["a", "b"],
        "flag": True,
        "city": "São Paulo",
    }
    assert request.get_body(max_args=2) == {"name": "John Doe", "age": "42"}


def test_get_body_multipart(use):
    body = (
        b"preamble\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="name"\r\n\r\n'
        b"John\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="tag"\r\n\r\n'
        b"a\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="tag"\r\n\r\n'
        b"b\r\nc\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
        b"hello\r\n"
        b"--XyZ--\r\n"
    )
    use(headers={"Content-Type": 'multipart/form-data; boundary="XyZ"'}, body=body)
    assert request.get_body() == {"name": "John", "tag": ["a", "b\r\nc"], "file": "hello"}
    use(headers={"Content-Type": "multipart/form-data"}, body=body)
    with pytest.raises(PDKError, match="unable to decode multipart body"):
        request.get_body()


def test_get_body_mimetype_argument_and_errors(use):
    use(headers={"Content-Type": "text/plain"}, body=b"a=1")
    assert request.get_body("application/x-www-form-urlencoded") == {"a": "1"}
    with pytest.raises(PDKError, match="unsupported content type 'text/plain'"):
        request.get_body()
    use(headers={}, body=b"a=1")
    with pytest.raises(PDKError, match="missing content type"):
        request.get_body()
    use(headers={"Content-Type": "application/json"}, body=None, body_too_large=True)
    with pytest.raises(PDKError, match="client_body_buffer_size"):
        request.get_body()
    with pytest.raises(PDKArgumentError, match="mimetype must be a string"):
        request.get_body(5)


def test_start_time_and_captures(use):
    captures = {"unnamed": ["/users/42", "42"], "named": {"id": "42"}}
    ctx = use(started_at=1700000000.1234, uri_captures=captures)
    assert request.get_start_time() == 1700000000123
    got = request.get_uri_captures()
    assert got == captures
    got["named"]["id"] = "x"
    assert ctx.uri_captures["named"]["id"] == "42"


def test_get_port_allowed_in_certificate_but_not_get_host(use):
    use(phase=Phase.certificate)
    assert request.get_port() == 8000
