"""``multipart`` (Kong's lua-multipart): a plugin reads and edits a multipart/form-data
body (tests/lua_plugins/kong/plugins/compat-multipart) and the upstream receives the
re-encoded body, which aiohttp's own multipart parser reads back."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import default
from typing import Any

import aiohttp

from host.lua.runtime import LuaHost
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


def config(upstream: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-multipart", "config": {}}],
    }


def parse_form(body: str, content_type: str) -> dict[str, list[str]]:
    """The fields of a multipart body, as Python's email parser reads them."""
    raw = f"Content-Type: {content_type}\r\n\r\n{body}".encode()
    message = BytesParser(policy=default).parsebytes(raw)
    fields: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields.setdefault(name, []).append(part.get_payload(decode=True).decode())
    return fields


async def test_plugin_reads_and_rewrites_a_form(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream))
    form = aiohttp.FormData()
    form.add_field("name", "moon")
    form.add_field("tag", "a")
    form.add_field("tag", "b")
    form.add_field("secret", "hide me")
    form.add_field("file", b"line1\r\nline2\r\n", filename="f.txt", content_type="text/plain")
    async with http.post(gw.url + "/up", data=form) as resp:
        assert resp.status == 200
        echo = await resp.json()
    headers = {k.lower(): v for k, v in echo["headers"].items()}
    assert headers["x-form-names"] == "file,name,secret,tag"
    assert headers["x-form-first-headers"] == "2"  # Content-Disposition and Content-Type
    assert headers["x-form-tags"] == "a|b"
    assert headers["x-form-tag-kind"] == "table"
    fields = parse_form(echo["body"], headers["content-type"])
    assert fields == {"name": ["moon"], "tag": ["a", "b"], "file": ["line1\r\nline2\r\n"], "added": ["by-plugin"]}
    assert int(headers["content-length"]) == len(echo["body"].encode())


def test_parsing_edge_cases() -> None:
    host = LuaHost()
    fn = host.compile_in("t", """
      local multipart = require 'multipart'
      local body = '--XyZ\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\none\\r\\n'
        .. '--XyZ\\r\\ncontent-disposition: form-data; name=b; filename="x.bin"\\r\\n'
        .. 'Content-Type: application/octet-stream\\r\\n\\r\\n\\r\\n--not-it\\r\\n'
        .. '--XyZ\\r\\nContent-Disposition: form-data; name="empty"\\r\\n\\r\\n\\r\\n--XyZ--\\r\\n'
      local m = multipart(body, 'multipart/form-data; boundary="XyZ"')
      local all = m:get_all()
      local none = multipart(body, 'multipart/form-data')
      local b = m:get('b')
      m:delete('a')
      m:set_simple('c', 'three', 'c.txt', 'text/plain')
      local again = multipart.new(m:tostring(), 'multipart/form-data; boundary=XyZ')
      return all.a, all.b, all.empty, b.headers[2], next(none:get_all()), again:get('c').headers[1],
        again:get('c').value, again:get('a'), #m:tostring() > 0, multipart(''):tostring()
    """)
    assert fn() == (
        b"one", b"\r\n--not-it", b"", b"Content-Type: application/octet-stream", None,
        b'Content-Disposition: form-data; name="c"; filename="c.txt"', b"three", None, True, b"",
    )
