"""ngx time functions as Lua plugins call them: clocks, nginx's date formats and
``ngx.parse_http_time``."""

from __future__ import annotations

import calendar
import re
import time
from email.utils import formatdate
from typing import Any

import pytest

from host.lua.runtime import LuaHost


@pytest.fixture
def host() -> LuaHost:
    return LuaHost()


def run(host: LuaHost, src: str) -> Any:
    """Run ``src`` in a test plugin's environment; its result as Python data."""
    return host.to_python(host.compile_in("time-test", src)())


def test_clocks_follow_the_wall_clock(host):
    before = time.time()
    now, seconds = run(host, "ngx.update_time() return { ngx.now(), ngx.time() }")
    after = time.time()
    assert before - 0.001 <= now <= after
    assert abs(now * 1000 - round(now * 1000)) < 1e-3   # milliseconds
    assert int(before) <= seconds <= int(after)


def test_local_and_utc_dates(host):
    today, local, utc = run(host, "return { ngx.today(), ngx.localtime(), ngx.utctime() }")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", today)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", local) and local.startswith(today)
    expected_utc = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    assert utc[:16] == expected_utc or utc[:13] == expected_utc[:13]


@pytest.mark.parametrize("sec", [0, 1290079655, 951782400, 4102444800])
def test_http_time_matches_rfc_1123(host, sec):
    got = host.compile_in("time-test", "return ngx.http_time(...)")(sec)
    assert got.decode() == formatdate(sec, usegmt=True)


def test_http_time_limits_and_fractions(host):
    got = run(host, "return { ngx.http_time(-5), ngx.http_time(1e13), ngx.http_time(1.9) }")
    assert got == ["Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
                   "Thu, 01 Jan 1970 00:00:01 GMT"]
    got = run(host, 'local ok, err = pcall(ngx.http_time, "1") return { ok, err }')
    assert got[0] is False and got[1].endswith("number argument only")


def test_cookie_time_two_and_four_digit_years(host):
    got = run(host, "return { ngx.cookie_time(1290079655), ngx.cookie_time(2177452800) }")
    assert got == ["Thu, 18-Nov-10 11:27:35 GMT", "Sat, 01-Jan-2039 00:00:00 GMT"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thu, 18 Nov 2010 11:27:35 GMT", 1290079655),      # RFC 1123
        ("Thursday, 18-Nov-10 11:27:35 GMT", 1290079655),   # RFC 850
        ("Thu Nov 18 11:27:35 2010", 1290079655),           # asctime
        ("Sun Nov  6 08:49:37 1994", 784111777),            # asctime, one-digit day
        ("Xyz, 29 Feb 2000 00:00:00 UTC", 951782400),       # weekday and zone are not read
        ("Thu, 29 Feb 2001 00:00:00 GMT", None),            # not a leap year
        ("Thu, 31 Apr 2010 00:00:00 GMT", None),
        ("Thu, 18 Nov 2010 24:00:00 GMT", None),
        ("Thu, 18 Fxx 2010 11:27:35 GMT", 1266492455),      # nginx reads "F" as February
        ("Thu, 18 Xyz 2010 11:27:35 GMT", None),
        ("18 Nov 2010", None),
        ("", None),
    ],
)
def test_parse_http_time(host, text, expected):
    got = host.compile_in("time-test", "return ngx.parse_http_time(...)")(text.encode())
    assert got == expected


def test_parse_http_time_round_trips_http_time(host):
    for sec in (0, 86399, 1700000000, calendar.timegm((2038, 1, 19, 3, 14, 8, 0, 0, 0))):
        assert host.compile_in("time-test", "return ngx.parse_http_time(ngx.http_time(...))")(sec) == sec
    got = run(host, "local ok, err = pcall(ngx.parse_http_time, 5) return { ok, err }")
    assert got[0] is False and got[1].endswith("string argument only")


async def test_now_is_cached_per_entry_into_lua_as_nginx_caches_it(host):
    """Within one run of a handler ngx.now() keeps its value (nginx updates its cached
    time once per event-loop iteration) until ngx.update_time(); the next call, or the
    resume after I/O, reads the clock again."""
    from host.lua.driver import drive

    fn = host.compile_in("time-test", """
        local a = ngx.now()
        local t0 = os.clock()
        while os.clock() - t0 < 0.03 do end  -- 30 ms of CPU, no yield
        local b = ngx.now()
        ngx.update_time()
        local c = ngx.now()
        ngx.sleep(0.02)
        return a, b, c, ngx.now()
    """)
    a, b, c, d = await drive(host, False, b"time-test", fn)
    assert a == b
    assert c >= a + 0.025
    assert d >= c + 0.015
    (first,) = await drive(host, False, b"time-test", host.compile_in("time-test", "return ngx.now()"))
    time.sleep(0.02)
    (second,) = await drive(host, False, b"time-test", host.compile_in("time-test", "return ngx.now()"))
    assert second >= first + 0.015
