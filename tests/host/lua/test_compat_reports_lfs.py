"""``kong.reports`` (reports are never sent: every call is accepted and does nothing) and
``lfs`` (present, but refuses every file system access with ``nil, err``)."""

from __future__ import annotations

from host.lua.runtime import LuaHost


def test_reports_accept_every_call_and_send_nothing():
    host = LuaHost()
    got = host.to_python(host.compile_in("reports-test", """
        local reports = require "kong.reports"
        local red_calls = 0
        local red = setmetatable({}, { __index = function() red_calls = red_calls + 1 end })
        reports.init({ anonymous_reports = true })
        reports.init_worker()
        reports.configure_ping({})
        reports.toggle(true)
        reports.add_immutable_value("database", "off")
        reports.add_ping_value("redis_version", "7.2")
        reports.retrieve_redis_version(red)
        local results = { reports.send("ping", {}), reports.send_ping(), reports.log({}) }
        local ok, err = pcall(reports.configure_ping, "not a table")
        return { reports.get_ping_value("redis_version"), reports.get_ping_value("nope") == nil, red_calls,
                 #results, ok, err }
    """)())
    assert got[:4] == ["7.2", True, 0, 0]  # Redis untouched, nothing returned by send/log
    assert got[4] is False and got[5].endswith("kong_config must be a table")


def test_lfs_refuses_file_system_access():
    host = LuaHost()
    got = host.to_python(host.compile_in("lfs-test", """
        local lfs = require "lfs"
        local size, err = lfs.attributes("/etc/hostname", "size")
        local dir, err2 = lfs.currentdir()
        local ok, err3 = pcall(lfs.dir, "/")
        return { size == nil, err, dir == nil, err2, ok, err3, lfs.mkdir("/tmp/x") == nil }
    """)())
    refused = "Moongate gives plugins no file system access"
    assert got[:5] == [True, refused, True, refused, False]
    assert got[5].endswith("cannot open /: " + refused) and got[6] is True
