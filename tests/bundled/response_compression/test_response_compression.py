"""response-compression through real requests: real gzip/brotli bodies decompressed by the test."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import brotli
import pytest
from aiohttp import web

from host.config import ConfigError, load_data
from host.gateway import build_registry
from host.settings import Settings
from host.testing import MockUpstream
from py_plugins.response_compression._negotiate import choose, parse_accept_encoding
from tests.bundled.docs import example_config

TEXT = b"the quick brown fox jumps over the lazy dog " * 200  # 8800 bytes


class Shaped:
    """An upstream whose response is shaped by query arguments."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        headers = {"Content-Type": q.get("ct", "text/plain; charset=utf-8")}
        for name in ("etag", "vary", "encoding"):
            if name in q:
                headers[{"etag": "ETag", "vary": "Vary", "encoding": "Content-Encoding"}[name]] = q[name]
        size = int(q.get("size", len(TEXT)))
        body = (TEXT * (size // len(TEXT) + 1))[:size]
        if "stream" in q:  # chunked, several writes
            resp = web.StreamResponse(headers=headers)
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            for start in range(0, size, 4096):
                await resp.write(body[start : start + 4096])
            await resp.write_eof()
            return resp
        return web.Response(status=int(q.get("status", "200")), body=body, headers=headers)


@pytest.fixture
def shaped(mock_upstream: MockUpstream) -> str:
    """The gateway fixture's upstream answering as :class:`Shaped` does; its URL."""
    mock_upstream.route("/", Shaped().handle)
    return mock_upstream.url


def config(url: str, **conf: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "s",
                "url": url,
                "routes": [{"name": "r", "paths": ["/"]}],
                "plugins": [{"name": "response-compression", "config": conf}],
            }
        ],
    }


async def fetch(gw: Any, path: str, encoding: str | None = "gzip", method: str = "GET") -> tuple[Any, bytes]:
    headers = {"Accept-Encoding": encoding} if encoding is not None else {"Accept-Encoding": ""}
    resp = await gw.request(method, path, headers=headers)
    return resp, resp.body


async def test_gzip_body_decompresses_to_the_upstream_body(gateway, shaped):
    gw = await gateway.start(config(shaped))
    resp, body = await fetch(gw, "/t", "gzip")
    assert resp.headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in resp.headers and resp.headers["Transfer-Encoding"] == "chunked"
    assert resp.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == TEXT
    assert len(body) < len(TEXT) / 10


async def test_brotli_preferred_and_q_values(gateway, shaped):
    gw = await gateway.start(config(shaped))
    resp, body = await fetch(gw, "/t", "gzip, deflate, br")
    assert resp.headers["Content-Encoding"] == "br"
    assert brotli.decompress(body) == TEXT
    resp, body = await fetch(gw, "/t", "br;q=0.2, gzip;q=0.8")
    assert resp.headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == TEXT
    resp, body = await fetch(gw, "/t", "gzip;q=0, br;q=0")
    assert "Content-Encoding" not in resp.headers and body == TEXT
    resp, body = await fetch(gw, "/t", "*")
    assert resp.headers["Content-Encoding"] == "br"


async def test_no_accept_encoding_sends_identity_with_vary(gateway, shaped):
    gw = await gateway.start(config(shaped))
    resp, body = await fetch(gw, "/t", None)
    assert "Content-Encoding" not in resp.headers and body == TEXT
    assert resp.headers["Content-Length"] == str(len(TEXT))
    assert resp.headers["Vary"] == "Accept-Encoding"


async def test_streamed_body_is_compressed_chunk_by_chunk(gateway, shaped):
    gw = await gateway.start(config(shaped, algorithms=["gzip"]))
    resp, body = await fetch(gw, "/s?stream=1&size=300000", "gzip")
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (TEXT * 35)[:300000]


async def test_never_double_compresses(gateway, shaped):
    gw = await gateway.start(config(shaped))
    resp, body = await fetch(gw, "/e?encoding=gzip", "gzip")
    assert resp.headers["Content-Encoding"] == "gzip"
    assert body == TEXT  # passed through untouched: the upstream claimed it was encoded
    assert "Vary" not in resp.headers


async def test_min_size_and_content_types(gateway, shaped):
    gw = await gateway.start(config(shaped, min_size=500, content_types=["text/*", "application/json"]))
    resp, body = await fetch(gw, "/small?size=499", "gzip")
    assert "Content-Encoding" not in resp.headers and body == TEXT[:499]
    resp, body = await fetch(gw, "/big?size=500", "gzip")
    assert gzip.decompress(body) == TEXT[:500]
    resp, body = await fetch(gw, "/img?ct=image/png", "gzip")
    assert "Content-Encoding" not in resp.headers and body == TEXT
    resp, body = await fetch(gw, "/csv?ct=text/csv", "gzip")
    assert resp.headers["Content-Encoding"] == "gzip"


async def test_etag_weakened_and_vary_merged(gateway, shaped):
    gw = await gateway.start(config(shaped))
    resp, _ = await fetch(gw, '/x?etag="abc"&vary=Origin', "gzip")
    assert resp.headers["ETag"] == 'W/"abc"'
    assert resp.headers.getall("Vary") == ["Origin", "Accept-Encoding"]


async def test_head_and_204_untouched(gateway, shaped):
    gw = await gateway.start(config(shaped))
    resp, _ = await fetch(gw, "/h", "gzip", method="HEAD")
    assert "Content-Encoding" not in resp.headers
    resp, body = await fetch(gw, "/n?status=204", "gzip")
    assert resp.status == 204 and "Content-Encoding" not in resp.headers


async def test_exit_responses_are_compressed(gateway, shaped):
    cfg = config(shaped, min_size=10)
    cfg["services"][0]["plugins"].append(
        {"name": "request-termination", "config": {"status_code": 403, "message": "no entry " * 20}}
    )
    gw = await gateway.start(cfg)
    resp, body = await fetch(gw, "/x", "gzip")
    assert resp.status == 403 and resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Content-Length"] == str(len(body))
    assert b"no entry" in zlib.decompress(body, 31)


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("response-compression", mock_upstream.url))
    resp, body = await fetch(gw, "/demo/some/long/path?padding=" + "a" * 60, "gzip")
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body).startswith(b'{"method": "GET", "path": "/some/long/pa')


def test_accept_encoding_parsing():
    assert parse_accept_encoding("gzip;q=0.5, BR , x-gzip;q=0.7, bad;q=x") == {
        "gzip": 0.7,
        "br": 1.0,
        "bad": 0.0,
    }
    assert choose("identity", ["br", "gzip"]) is None
    assert choose("gzip, br", ["gzip", "br"]) == "gzip"
    assert choose("br;q=1, gzip;q=1", ["br", "gzip"]) == "br"


def test_schema_defaults_and_errors():
    registry = build_registry(Settings())
    data = {"_format_version": "3.0", "plugins": [{"name": "response-compression"}]}
    conf = load_data(data, registry, source="kong.yml").plugins[0]["config"]
    assert conf["algorithms"] == ["br", "gzip"] and conf["min_size"] == 1024
    assert conf["gzip_level"] == 6 and conf["brotli_quality"] == 4
    assert "application/json" in conf["content_types"]
    bad = {"algorithms": ["zstd"], "gzip_level": 10, "min_size": -1}
    data["plugins"][0]["config"] = bad
    with pytest.raises(ConfigError) as excinfo:
        load_data(data, registry, source="kong.yml")
    prefix = "kong.yml: plugins[0] (name=response-compression): "
    assert sorted(e.removeprefix(prefix) for e in excinfo.value.errors) == [
        "config.algorithms[0]: expected one of: br, gzip",
        "config.gzip_level: value should be between 1 and 9",
        "config.min_size: value should be between 0 and 2147483647",
    ]
