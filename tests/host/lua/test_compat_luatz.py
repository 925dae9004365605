"""``luatz`` (UTC part), as plugins use it to read token expiry times
(carnei-ro/kong-plugin-oauth-jwt-signer: ``luatz.parse.rfc_3339(s):timestamp()``);
answers are compared with Python's datetime."""

from __future__ import annotations

import datetime

import pytest

from host.lua.runtime import LuaHost

UTC = datetime.UTC


@pytest.fixture(scope="module")
def luatz() -> LuaHost:
    return LuaHost()


@pytest.mark.parametrize(
    ("text", "expected", "offset"),
    [
        ("2024-02-29T23:59:58.250Z", datetime.datetime(2024, 2, 29, 23, 59, 58, 250000, tzinfo=UTC), 0),
        ("1999-12-31t00:00:00z", datetime.datetime(1999, 12, 31, tzinfo=UTC), 0),
        ("2021-12-31T10:00:00-05:30", datetime.datetime(2021, 12, 31, 10, tzinfo=UTC), -19800),
        ("2021-12-31T10:00:00", datetime.datetime(2021, 12, 31, 10, tzinfo=UTC), None),
    ],
)
def test_rfc_3339(luatz: LuaHost, text: str, expected: datetime.datetime, offset: int | None) -> None:
    # the timetable is the written wall time; the zone offset comes apart, as in luatz
    fn = luatz.compile_in(
        "t", "local tt, off = require('luatz').parse.rfc_3339(...) return tt:timestamp(), off"
    )
    assert fn(text.encode()) == (expected.timestamp(), offset)


def test_timetables_against_datetime(luatz: LuaHost) -> None:
    fn = luatz.compile_in(
        "t",
        """
        local luatz = require 'luatz'
        local g = luatz.gmtime(1700000000)
        local carried = luatz.timetable.new(2023, 13, 32, 25, 61, 61):normalise()
        return tostring(g), g.wday, g.yday, tostring(carried), carried - g,
          select(2, luatz.parse.rfc_3339('not a date')), select(2, pcall(luatz.get_tz, 'Europe/Paris'))
        """,
    )
    stamp = datetime.datetime.fromtimestamp(1700000000, UTC)
    carried = datetime.datetime(2024, 1, 1, tzinfo=UTC) + datetime.timedelta(
        days=31, hours=25, minutes=61, seconds=61
    )
    assert fn() == (
        b"2023-11-14T22:13:20.000",
        stamp.isoweekday() % 7 + 1,  # Sunday is 1
        stamp.timetuple().tm_yday,
        carried.strftime("%Y-%m-%dT%H:%M:%S.000").encode(),
        carried.timestamp() - 1700000000,
        b"Invalid RFC 3339 timestamp",
        b"luatz: time zones (tzinfo files) are not available in Moongate; times are UTC",
    )
