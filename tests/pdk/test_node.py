"""kong.node: id, host name, memory."""

from __future__ import annotations

import os

import pytest

from pdk import node
from pdk.errors import PDKArgumentError

from .conftest import NODE_ID


def test_id_and_hostname(use):
    use()
    assert node.get_id() == NODE_ID
    assert node.get_hostname() == "gw-1"


def test_memory_stats(use):
    use()
    stats = node.get_memory_stats()
    assert stats["lua_shared_dicts"] == {}
    (worker,) = stats["workers_lua_vms"]
    assert worker["pid"] == os.getpid()
    assert isinstance(worker["http_allocated_gc"], int) and worker["http_allocated_gc"] > 0
    formatted = node.get_memory_stats("M", 1)["workers_lua_vms"][0]["http_allocated_gc"]
    assert formatted.endswith(" MiB") and len(formatted.split()[0].split(".")[1]) == 1


def test_memory_stats_validation(use):
    use()
    with pytest.raises(PDKArgumentError, match="invalid unit 'x'"):
        node.get_memory_stats("x")
    with pytest.raises(PDKArgumentError, match="scale must be equal or greater than 0"):
        node.get_memory_stats("k", -1)
