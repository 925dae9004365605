"""Lua values read into Python (one crossing per table) and Python data handed to Lua."""

from __future__ import annotations

import pytest

from host.lua.convert import FLAT_MAX, LuaConversionError
from host.lua.runtime import LuaHost


@pytest.fixture(scope="module")
def host() -> LuaHost:
    return LuaHost()


def lua(host: LuaHost, src: str):
    return host.compile(src)()


def test_records_arrays_and_nesting(host):
    value = lua(
        host,
        "return { id = 'a', n = 3, f = 1.5, ok = true, tags = { 'x', 'y' }, sub = { k = { 1, { z = 2 } } } }",
    )
    assert host.to_python(value) == {
        "id": "a",
        "n": 3,
        "f": 1.5,
        "ok": True,
        "tags": ["x", "y"],
        "sub": {"k": [1, {"z": 2}]},
    }


def test_sparse_and_mixed_keys_stay_dicts(host):
    assert host.to_python(lua(host, "return { [1] = 'a', [3] = 'c' }")) == {1: "a", 3: "c"}
    assert host.to_python(lua(host, "return { [2] = 'b' }")) == {2: "b"}
    assert host.to_python(lua(host, "return { 'a', x = 1 }")) == {1: "a", "x": 1}
    assert host.to_python(lua(host, "return { [true] = 1, [2.5] = 2 }")) == {True: 1, 2.5: 2}
    assert host.to_python(lua(host, "return {}")) == {}


def test_null_and_undecodable_bytes(host):
    value = host.compile("local null = ... return { a = null, b = '\\255x' }")(host.H.null)
    assert host.to_python(value) == {"a": None, "b": b"\xffx".decode("utf-8", "surrogateescape")}


def test_tables_too_big_for_one_crossing_are_read_pair_by_pair(host):
    n = FLAT_MAX + 10
    value = lua(host, f"local t = {{}} for i = 1, {n} do t[i] = i * 2 end return t")
    assert host.to_python(value) == [i * 2 for i in range(1, n + 1)]
    value = lua(host, f"local t = {{}} for i = 1, {n} do t['k' .. i] = i end return t")
    converted = host.to_python(value)
    assert len(converted) == n and converted["k1"] == 1 and converted[f"k{n}"] == n


def test_cycles_are_refused(host):
    value = lua(host, "local t = {} t.self = t return t")
    with pytest.raises(LuaConversionError, match="nested too deeply"):
        host.to_python(value)


def test_python_data_to_lua_and_back(host):
    data = {"a": "x", "n": 1, "f": 0.5, "b": False, "list": ["p", {"q": [1, 2]}], "none": None, 7: "seven"}
    back = host.to_python(host.to_lua(data))
    assert back == {"a": "x", "n": 1, "f": 0.5, "b": False, "list": ["p", {"q": [1, 2]}], 7: "seven"}
    check = host.compile("local t = ... return type(t.a), t.list[2].q[2], t[7], t.none == nil")
    assert check(host.to_lua(data)) == (b"string", 2, b"seven", True)
