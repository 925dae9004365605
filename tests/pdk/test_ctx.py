"""kong.ctx: shared and per-plugin request tables."""

from __future__ import annotations

import pytest

import pdk.ctx
from pdk.phases import Phase


def test_shared_is_per_request(use, kong):
    first = use()
    kong.ctx.shared["user"] = "alice"
    assert first.shared == {"user": "alice"}
    use()
    assert kong.ctx.shared == {}


def test_plugin_is_namespaced_by_plugin_name(use, kong):
    ctx = use(plugin_name="rate-limiting")
    kong.ctx.plugin["count"] = 1
    ctx.plugin_name = "acl"
    assert kong.ctx.plugin == {}
    kong.ctx.plugin["groups"] = ["a"]
    ctx.plugin_name = "rate-limiting"
    assert kong.ctx.plugin == {"count": 1}
    ctx.phase = Phase.log  # the same table in a later phase
    assert kong.ctx.plugin["count"] == 1
    assert ctx.plugin_ctx == {"rate-limiting": {"count": 1}, "acl": {"groups": ["a"]}}


def test_none_outside_requests(use, kong):
    use(phase=Phase.init_worker)
    assert kong.ctx.shared is None and kong.ctx.plugin is None


def test_unknown_attribute(use):
    use()
    with pytest.raises(AttributeError, match="has no attribute 'core'"):
        pdk.ctx.core  # noqa: B018
    assert {"shared", "plugin"} <= set(dir(pdk.ctx))
