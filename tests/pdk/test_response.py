"""kong.response: the response to the client, exit and error."""

from __future__ import annotations

import orjson
import pytest
from multidict import CIMultiDict

from pdk import response
from pdk.errors import ExitSignal, PDKArgumentError, PDKError
from pdk.phases import Phase

RID = "0123456789abcdef0123456789abcdef"


def test_getters(use):
    ctx_headers = CIMultiDict([("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    use(phase=Phase.header_filter, status=201, response_source="service", response_headers=ctx_headers)
    assert response.get_status() == 201
    assert response.get_source() == "service"
    assert response.get_header("content_type") == "text/plain"
    assert response.get_header("set-cookie") == "a=1"
    assert response.get_headers() == {"content-type": "text/plain", "set-cookie": ["a=1", "b=2"]}
    assert response.get_headers(1) == {"content-type": "text/plain"}
    with pytest.raises(PDKArgumentError, match="header name must be a string"):
        response.get_header(None)


def test_set_status_and_validation(use):
    ctx = use()
    response.set_status(404)
    assert ctx.status == 404
    for bad, message in (
        ("200", "code must be a number"),
        (99, "between 100 and 599"),
        (600, "between 100 and 599"),
    ):
        with pytest.raises(PDKArgumentError, match=message):
            response.set_status(bad)


def test_setters_after_headers_sent(use):
    use(phase=Phase.header_filter, headers_sent=True)
    calls = [
        lambda: response.set_status(200),
        lambda: response.set_header("X-A", "1"),
        lambda: response.add_header("X-A", "1"),
        lambda: response.clear_header("X-A"),
        lambda: response.set_headers({"X-A": "1"}),
        lambda: response.exit(200),
        lambda: response.error(500),
    ]
    for call in calls:
        with pytest.raises(PDKError, match="^headers have already been sent$"):
            call()


def test_set_add_clear_header(use):
    ctx = use()
    response.set_header("X-Multi", ["a", "b"])
    response.add_header("x-multi", "c")
    response.set_header("X-Num", 42)
    response.set_header("X-Bool", True)
    response.set_header("X-Float", 1.5)
    response.set_header("X-Empty", "")
    response.set_header("X_Under", "u")  # sent as X-Under, as OpenResty does
    assert ctx.response_headers.getall("X-Multi") == ["a", "b", "c"]
    assert ctx.response_headers["X-Num"] == "42"
    assert ctx.response_headers["X-Bool"] == "true"
    assert ctx.response_headers["X-Float"] == "1.5"
    assert ctx.response_headers["X-Empty"] == " "
    assert ctx.response_headers["X-Under"] == "u"
    response.set_header("X-Multi", "only")
    assert ctx.response_headers.getall("X-Multi") == ["only"]
    response.clear_header("x_multi")
    assert "X-Multi" not in ctx.response_headers
    response.set_header("Transfer-Encoding", "chunked")
    assert "Transfer-Encoding" not in ctx.response_headers


@pytest.mark.parametrize(
    "value",
    ["a\r\nSet-Cookie: evil=1", "a\nb", "a\rb", "a\x00b", ["ok", "bad\r\nX: y"]],
)
def test_header_injection_is_rejected(use, value):
    ctx = use()
    with pytest.raises(PDKArgumentError, match="must not contain CR, LF or NUL"):
        response.set_header("X-Foo", value)
    with pytest.raises(PDKArgumentError, match="must not contain CR, LF or NUL"):
        response.add_header("X-Foo", value)
    with pytest.raises(PDKArgumentError):
        response.exit(200, None, {"X-Foo": value})
    assert "X-Foo" not in ctx.response_headers
    assert not ctx.exited


@pytest.mark.parametrize("name", ["X-Foo\r\nX-Evil", "Bad Name", "", "X:Y"])
def test_invalid_header_names(use, name):
    use()
    with pytest.raises(PDKArgumentError, match="invalid header name"):
        response.set_header(name, "v")


def test_header_type_errors_use_kong_messages(use):
    use()
    with pytest.raises(PDKArgumentError, match=r"invalid header name 1: got number, expected string"):
        response.set_header(1, "v")
    with pytest.raises(
        PDKArgumentError, match=r'invalid header value for "X": got table, expected array of string'
    ):
        response.set_header("X", {"a": 1})
    with pytest.raises(
        PDKArgumentError, match=r'invalid header value in array "X": got number, expected string'
    ):
        response.set_header("X", ["a", 1])
    with pytest.raises(PDKArgumentError, match="headers must be a table"):
        response.set_headers("nope")


def test_set_headers_keeps_others(use):
    ctx = use()
    response.set_header("X-Keep", "1")
    response.set_headers({"X-B": ["1", "2"], "X-A": "a", "Transfer-Encoding": "chunked"})
    assert list(ctx.response_headers.items()) == [("X-Keep", "1"), ("X-A", "a"), ("X-B", "1"), ("X-B", "2")]


def test_exit_with_dict_body(use):
    ctx = use()
    ctx.response_headers["X-Rate"] = "5"
    with pytest.raises(ExitSignal):
        response.exit(403, {"message": "Forbidden"}, {"X-Reason": "acl", "Transfer-Encoding": "chunked"})
    assert ctx.status == 403
    assert orjson.loads(ctx.exit_body) == {"message": "Forbidden"}
    assert ctx.response_headers["Content-Type"] == "application/json; charset=utf-8"
    assert ctx.response_headers["X-Reason"] == "acl"
    assert ctx.response_headers["X-Rate"] == "5"
    assert "Transfer-Encoding" not in ctx.response_headers
    assert ctx.exited and ctx.response_source == "exit"


def test_exit_with_list_str_bytes_and_none(use):
    ctx = use()
    with pytest.raises(ExitSignal):
        response.exit(200, [1, 2])
    assert ctx.exit_body == b"[1,2]"
    ctx = use()
    with pytest.raises(ExitSignal):
        response.exit(200, "héllo", {"Content-Type": "text/plain"})
    assert ctx.exit_body == "héllo".encode()
    assert ctx.response_headers["Content-Type"] == "text/plain"
    ctx = use()
    with pytest.raises(ExitSignal):
        response.exit(204)
    assert ctx.exit_body == b""
    assert "Content-Type" not in ctx.response_headers
    ctx = use()
    with pytest.raises(ExitSignal):
        response.exit(200, {"a": 1}, {"content-type": "application/vnd+json"})
    assert ctx.response_headers.getall("Content-Type") == ["application/vnd+json"]


def test_exit_validation(use):
    ctx = use()
    with pytest.raises(PDKArgumentError, match="code must be a number"):
        response.exit("200")
    with pytest.raises(PDKArgumentError, match="body must be a nil, string or table"):
        response.exit(200, 42)
    with pytest.raises(PDKArgumentError, match="headers must be a nil or table"):
        response.exit(200, None, "X-A: 1")
    with pytest.raises(PDKArgumentError, match="body encoding failed"):
        response.exit(418, {"a": object()}, {"X-Partial": "no"})
    assert not ctx.exited and ctx.status == 200 and "X-Partial" not in ctx.response_headers


def test_exit_grpc(use):
    ctx = use(http_version=2.0, headers={"Content-Type": "application/grpc"})
    with pytest.raises(ExitSignal):
        response.exit(403, {"message": "denied"})
    assert ctx.response_headers["grpc-status"] == "7"
    assert ctx.response_headers["grpc-message"] == "denied"
    assert ctx.exit_body == b""


def test_exit_grpc_status_messages_and_table_output(use):
    ctx = use(http_version=2.0, headers={"Content-Type": "application/grpc+proto"})
    with pytest.raises(ExitSignal):
        response.exit(418)
    assert (ctx.response_headers["grpc-status"], ctx.response_headers["grpc-message"]) == (
        "3",
        "InvalidArgument",
    )
    ctx = use(http_version=1.1, headers={"Content-Type": "application/grpc"})  # gRPC needs HTTP/2
    with pytest.raises(ExitSignal):
        response.exit(403, "denied")
    assert "grpc-status" not in ctx.response_headers and ctx.exit_body == b"denied"
    use()
    with pytest.raises(PDKArgumentError, match="table body encoding with gRPC is not supported"):
        response.exit(200, {"a": 1}, {"Content-Type": "application/grpc"})


def test_error_grpc_request_has_no_body(use):
    ctx = use(http_version=2.0, headers={"Content-Type": "application/grpc"})
    with pytest.raises(ExitSignal):
        response.error(503)
    assert ctx.response_headers["grpc-status"] == "14"
    assert ctx.response_headers["grpc-message"] == "Unavailable"
    assert ctx.exit_body == b""


def test_error_defaults_to_json(use):
    ctx = use(headers={})
    with pytest.raises(ExitSignal):
        response.error(404)
    assert ctx.status == 404
    assert ctx.response_headers["Content-Type"] == "application/json; charset=utf-8"
    assert ctx.exit_body == f'{{\n  "message":"Not found",\n  "request_id":"{RID}"\n}}'.encode()
    assert orjson.loads(ctx.exit_body) == {"message": "Not found", "request_id": RID}


@pytest.mark.parametrize(
    ("accept", "content_type", "expected"),
    [
        ("text/html", "text/html; charset=utf-8", f"<p>Access denied.</p>\n    <p>request_id: {RID}</p>"),
        ("application/xml", "application/xml; charset=utf-8", "<message>Access denied</message>"),
        ("text/plain", "text/plain; charset=utf-8", f"Access denied\nrequest_id: {RID}\n"),
        ("text/plain;q=0.3, text/html;q=0.9", "text/html; charset=utf-8", "<h1>Error</h1>"),
        ("text/*", "text/plain; charset=utf-8", "Access denied\n"),
        ("*/*", "application/json; charset=utf-8", '"message":"Access denied"'),
        ("image/png", "application/json; charset=utf-8", '"message":"Access denied"'),
        ("garbage", "application/json; charset=utf-8", '"message":"Access denied"'),
    ],
)
def test_error_negotiates_accept(use, accept, content_type, expected):
    ctx = use(headers={"Accept": accept})
    with pytest.raises(ExitSignal):
        response.error(403, "Access denied")
    assert ctx.response_headers["Content-Type"] == content_type
    assert expected in ctx.exit_body.decode()


def test_error_content_type_header_wins_and_messages(use):
    ctx = use(headers={"Accept": "text/html"})
    with pytest.raises(ExitSignal):
        response.error(429, None, {"Content-Type": "text/plain", "Retry-After": 5})
    assert ctx.exit_body == f"Too many requests\nrequest_id: {RID}\n".encode()
    assert ctx.response_headers["Retry-After"] == "5"
    ctx = use(headers={})
    with pytest.raises(ExitSignal):
        response.error(599)
    assert b"The upstream server responded with 599" in ctx.exit_body
    ctx = use(headers={})
    with pytest.raises(ExitSignal):
        response.error(400, {"field": "bad"})
    assert orjson.loads(ctx.exit_body)["message"] == '{"field":"bad"}'


def test_error_escapes_the_message(use):
    ctx = use(headers={"Accept": "text/html"})
    with pytest.raises(ExitSignal):
        response.error(400, '<script>alert("x")</script>')
    assert b"<script>" not in ctx.exit_body
    ctx = use(headers={})
    with pytest.raises(ExitSignal):
        response.error(400, 'say "hi"')
    assert orjson.loads(ctx.exit_body)["message"] == 'say "hi"'


def test_error_validation(use):
    use()
    with pytest.raises(PDKArgumentError, match="code must be a number between 400 and 599"):
        response.error(302)
    with pytest.raises(PDKArgumentError, match="message must be a nil, a string or a table"):
        response.error(500, 42)


def test_get_raw_body_buffers_three_chunks(use):
    ctx = use(phase=Phase.body_filter)
    for chunk in (b"Hello, ", b"big "):
        ctx.body_chunk, ctx.body_eof = chunk, False
        assert response.get_raw_body() is None
        assert ctx.body_chunk is None  # nothing is sent before the end
    ctx.body_chunk, ctx.body_eof = b"world", True
    assert response.get_raw_body() == b"Hello, big world"
    assert ctx.body_chunk == b"Hello, big world"
    assert ctx.body_buffer is None


def test_get_raw_body_single_chunk_and_set_raw_body(use):
    ctx = use(phase=Phase.body_filter, body_chunk=b"all", body_eof=True)
    assert response.get_raw_body() == b"all"
    ctx = use(phase=Phase.body_filter, body_chunk=b"part", body_eof=False)
    response.set_raw_body("new body")
    assert (ctx.body_chunk, ctx.body_eof) == (b"new body", True)
    response.set_raw_body(b"")
    assert ctx.body_chunk == b"\n"
    with pytest.raises(PDKArgumentError, match="body must be a string"):
        response.set_raw_body(1)


def test_exit_is_not_swallowed_by_except_exception(use, kong):
    ctx = use()

    def handler():
        try:
            kong.response.exit(401, {"message": "Unauthorized"})
        except Exception:  # noqa: BLE001 - what careless plugin code does
            return "swallowed"
        return "continued"

    with pytest.raises(ExitSignal):
        handler()
    assert ctx.status == 401 and ctx.exited


def test_exit_from_header_filter_replaces_the_body(use):
    upstream = CIMultiDict([("Content-Type", "text/html"), ("Content-Length", "512")])
    ctx = use(phase=Phase.header_filter, status=200, response_headers=upstream, response_source="service")
    with pytest.raises(ExitSignal):
        response.exit(502, {"message": "bad upstream"})
    assert ctx.status == 502 and ctx.response_source == "exit"
    # only exit's own headers count as "given": the upstream's type is replaced, as in Kong
    assert ctx.response_headers.getall("Content-Type") == ["application/json; charset=utf-8"]
    assert ctx.exit_body == b'{"message":"bad upstream"}'
