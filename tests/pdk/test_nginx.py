"""kong.nginx: subsystem and statistics."""

from __future__ import annotations

from pdk import nginx
from pdk.phases import Phase


def test_subsystem_and_statistics(use, monkeypatch):
    use(phase=Phase.init_worker)
    assert nginx.get_subsystem() == "http"
    monkeypatch.setitem(nginx.STATS, "total_requests", 12)
    monkeypatch.setitem(nginx.STATS, "connections_active", 3)
    stats = nginx.get_statistics()
    assert stats["total_requests"] == 12 and stats["connections_active"] == 3
    assert set(stats) == {
        "connections_active",
        "connections_reading",
        "connections_writing",
        "connections_waiting",
        "connections_accepted",
        "connections_handled",
        "total_requests",
    }
    stats["total_requests"] = 0
    assert nginx.STATS["total_requests"] == 12
