"""``ngx.re`` has a match limit, as PCRE's ``lua_regex_match_limit`` gives OpenResty.

A catastrophic pattern (``(a|aa)+$`` on 28 ``a`` and a ``!``: seconds of backtracking in
Python's ``regex`` engine) answers ``nil, "pcre_exec() failed: -8"`` in a sandboxed
runtime after about its CPU budget (the engine checks its timeout at intervals, so the
bound is coarse), and the runtime still matches ordinary patterns afterwards.
"""

from __future__ import annotations

import time

from host.lua.modules.moongate_ngx_re import MATCH_LIMIT_ERROR, TRUSTED_MATCH_TIMEOUT, match_timeout
from host.lua.runtime import LuaHost
from host.lua.sandbox import SandboxedHost

CATASTROPHIC = "local m, err = ngx.re.match(string.rep('a', 28) .. '!', '(a|aa)+$') return tostring(m), err"


def test_a_catastrophic_pattern_hits_the_match_limit() -> None:
    host = SandboxedHost()
    started = time.monotonic()
    assert host.compile_in("t", CATASTROPHIC)() == (b"nil", MATCH_LIMIT_ERROR)
    assert time.monotonic() - started < 1.5  # seconds of backtracking without the limit
    fn = host.compile_in("t", "return ngx.re.match('key=value', [[(\\w+)=(\\w+)]])[2]")
    assert fn() == b"value"


def test_the_limit_follows_the_trust_level() -> None:
    assert match_timeout(SandboxedHost()) == 0.05  # sandbox_cpu_budget_ms
    assert match_timeout(LuaHost()) == TRUSTED_MATCH_TIMEOUT


def test_gsub_stops_at_the_limit_too() -> None:
    host = SandboxedHost()
    fn = host.compile_in("t", "return ngx.re.gsub(string.rep('a', 28) .. '!', '(a|aa)+$', 'x')")
    assert fn() == (None, None, MATCH_LIMIT_ERROR)
