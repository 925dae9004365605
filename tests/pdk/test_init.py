"""The ``kong`` object: built from one ordered list, read-only, with version fields."""

from __future__ import annotations

import pytest

import pdk
from pdk import NAMESPACES, build_kong, kong
from pdk.configuration import Configuration


def test_namespaces_in_kongs_order():
    assert [name for name, _ in NAMESPACES] == [
        "table",
        "node",
        "log",
        "ctx",
        "ip",
        "client",
        "service",
        "request",
        "service.request",
        "service.response",
        "response",
        "router",
        "nginx",
        "plugin",
        "client.tls",
    ]


def test_kong_fields():
    assert kong.version == "3.10.0"
    assert kong.version_num == 31000
    assert isinstance(kong.configuration, Configuration)
    assert pdk.kong is kong


def test_namespaces_expose_the_module_functions():
    import pdk.request
    import pdk.service.request

    assert kong.request.get_header is pdk.request.get_header
    assert kong.service.request.set_header is pdk.service.request.set_header
    assert kong.service.set_target is pdk.service.set_target
    assert callable(kong.log) and kong.log.err is pdk.log.err
    assert kong.ctx is pdk.ctx.PDK_NAMESPACE and repr(kong.ctx) == "<kong.ctx>"
    assert not hasattr(kong.request, "_header")  # private helpers stay private
    assert repr(kong.service.response) == "<kong.service.response>"


def test_kong_is_read_only():
    with pytest.raises(AttributeError, match="read-only"):
        kong.request.get_header = lambda name: "forged"
    with pytest.raises(AttributeError, match="read-only"):
        kong.version = "0"
    with pytest.raises(AttributeError, match="read-only"):
        del kong.service.request


def test_build_makes_independent_objects():
    other = build_kong()
    assert other is not kong and other.request.get_method is kong.request.get_method


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        pdk.nope  # noqa: B018
