"""kong.table: new, clear, merge."""

from __future__ import annotations

import pytest

from pdk import table
from pdk.errors import PDKArgumentError


def test_new_and_clear(use):
    use()
    t = table.new(4, 4)
    assert t == {}
    t["a"] = 1
    table.clear(t)
    assert t == {}
    items = [1, 2]
    table.clear(items)
    assert items == []
    with pytest.raises(PDKArgumentError):
        table.clear("x")


def test_merge(use):
    use()
    a, b = {"x": 1, "y": 2}, {"y": 3, "z": 4}
    merged = table.merge(a, b)
    assert merged == {"x": 1, "y": 3, "z": 4}
    assert merged is not a and a == {"x": 1, "y": 2}
    assert table.merge(None, b) == b and table.merge(a) == a and table.merge() == {}
    assert table.merge([1, 2, 3], [4, 5]) == [4, 5, 3]
    with pytest.raises(PDKArgumentError):
        table.merge({"a": 1}, [1])
    with pytest.raises(PDKArgumentError):
        table.merge("a", None)
