"""Benchmark rows of the bundled auth plugins: key-auth alone, and key-auth + acl +
ip-restriction on one route (consumer, credential and acl group in the config, the
key sent by wrk in the ``apikey`` header), both to compare with ``moongate``."""

from __future__ import annotations

from typing import Any

from bench.rowspec import RowSpec

__all__ = ["ROWS"]

KEY = "bench-key-1"


def _config(up_port: int, plugins: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bench",
                "url": f"http://127.0.0.1:{up_port}",
                "routes": [{"name": "bench", "paths": ["/"], "plugins": plugins}],
            }
        ],
        "consumers": [
            {"username": "bench", "keyauth_credentials": [{"key": KEY}], "acls": [{"group": "bench"}]},
            {
                "username": "other",
                "keyauth_credentials": [{"key": "other-key"}],
                "acls": [{"group": "other"}],
            },
        ],
    }


def key_auth(up_port: int, **_: Any) -> dict[str, Any]:
    """One route with key-auth."""
    return _config(up_port, [{"name": "key-auth"}])


def key_auth_acl_ip(up_port: int, **_: Any) -> dict[str, Any]:
    """One route with key-auth, acl (allow) and ip-restriction (allow 127.0.0.1 and a few ranges)."""
    return _config(
        up_port,
        [
            {"name": "key-auth"},
            {"name": "acl", "config": {"allow": ["bench"]}},
            {
                "name": "ip-restriction",
                "config": {"allow": ["10.0.0.0/8", "192.168.0.0/16", "127.0.0.1", "::1"]},
            },
        ],
    )


ROWS = [
    RowSpec("auth-key-auth", "moongate, key-auth", key_auth, headers=[f"apikey: {KEY}"]),
    RowSpec(
        "auth-key-auth-acl-ip",
        "moongate, key-auth + acl + ip-restriction",
        key_auth_acl_ip,
        headers=[f"apikey: {KEY}"],
    ),
]
