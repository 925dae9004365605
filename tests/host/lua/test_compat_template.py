"""``resty.template`` through the compat-template plugin (tests/lua_plugins/kong/plugins/
compat-template), which rewrites request bodies the way stone-payments'
template-transformer does; and its tags checked one by one."""

from __future__ import annotations

import json

import pytest

from host.lua.runtime import LuaHost
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture

TEMPLATE = (
    '{"user": "{{body.name}}", "id": {{captures.id}}, "q": "{{query.q}}",'
    ' "tags": [{% for i, t in ipairs(body.tags) do %}{* i > 1 and "," or "" *}"{{t}}"{% end %}]}'
)


async def test_the_body_is_rewritten_with_one_content_length(lua_gateway, echo_upstream, http):  # noqa: F811
    config = {
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": [{"paths": [r"~/users/(?<id>\d+)$"]}]}],
        "plugins": [{"name": "compat-template", "config": {"request_template": TEMPLATE}}],
    }
    gw = await lua_gateway(config)
    sent = {"name": "a</b>", "tags": ["x", "y"]}
    async with http.post(gw.url + "/users/42?q=z", json=sent) as resp:
        assert resp.status == 200  # the echo upstream refuses a duplicate Content-Length with 400
        echoed = await resp.json()
    assert json.loads(echoed["body"]) == {"user": "a&lt;&#47;b&gt;", "id": 42, "q": "z", "tags": ["x", "y"]}
    assert echoed["headers"]["Content-Length"] == str(len(echoed["body"]))


@pytest.mark.parametrize(
    ("view", "context", "expected"),
    [
        ("Hi {{name}}!", "{ name = [[<b>&'/]] }", "Hi &lt;b&gt;&amp;&#39;&#47;!"),
        ("{*raw*}|{{missing}}|", "{ raw = '<i>' }", "<i>||"),
        ("a\n  {% if true then %}\nb\n  {% end %}\nc", "{}", "a\nb\nc"),
        ("x{# a comment #}\ny", "{}", "xy"),
        ("\\{{name}} {{name}}", "{ name = 'n' }", "{{name}} n"),
        ("{(Hello {{who}})}!", "{ who = 'you' }", "Hello you!"),
        ("{-verbatim-}{{x}}{-verbatim-}", "{ x = 1 }", "{{x}}"),
        ("{*string.upper(s)*}", "{ s = 'up' }", "UP"),
    ],
)
def test_tags(view: str, context: str, expected: str) -> None:
    fn = LuaHost().compile_in("t", f"return require('resty.template').process(..., {context})")
    assert fn(view.encode()) == expected.encode()


def test_layouts_and_files() -> None:
    fn = LuaHost().compile_in(
        "t",
        """
        local t = require 'resty.template'
        local page = t.new('<p>{{msg}}</p>', '<html>{*view*}</html>')
        page.msg = 'hi'
        return tostring(page), page:process({ msg = 'ctx' }), select(2, pcall(t.compile_file, 'page.html'))
        """,
    )
    assert fn() == (
        b"<html><p>hi</p></html>",
        b"<html><p>ctx</p></html>",
        b"resty.template: template files are not available to plugins in Moongate; pass the template text",
    )
