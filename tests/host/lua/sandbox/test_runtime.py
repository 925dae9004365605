"""The sandboxed runtime itself: the budget's accuracy, cleaning up after a violation,
the reasons given, and the limits' settings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from host.context import Context, use_context
from host.gateway import build_registry
from host.lua.driver import LuaHandlerError, drive
from host.lua.sandbox import MARKER, SandboxedHost, SandboxLimits, SandboxViolation, violation_from
from host.settings import Settings


async def run(host: SandboxedHost, code: str) -> tuple:
    use_context(Context())
    return await drive(host, False, b"probe", host.compile_in("probe", code))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (MARKER + "timeout", "timeout"),
        (MARKER + "memory", "memory"),
        (
            "x.lua:1: sandbox limit: string.rep result of 9 bytes is over the limit of 8\nstack traceback:",
            "limit",
        ),
        ("x.lua:2: Cannot modify kong.x. Protected by the sandbox.", "forbidden"),
        ("require 'ffi' not allowed within sandbox", "forbidden"),
        ("x.lua:3: Cannot modify ngx.y: the kong and ngx tables are read-only", "forbidden"),
    ],
)
def test_violation_reasons(text: str, reason: str) -> None:
    exc = violation_from(text, budget_ms=50, max_memory=64 << 20)
    assert isinstance(exc, SandboxViolation)
    assert exc.reason == reason
    assert MARKER not in str(exc)


def test_plain_errors_stay_plain() -> None:
    exc = violation_from("x.lua:1: attempt to index a nil value\nstack traceback:\n\tx.lua:1")
    assert type(exc) is LuaHandlerError


@pytest.mark.parametrize("budget_ms", [20, 50, 200])
async def test_budget_is_kept_within_a_tick(budget_ms: int) -> None:
    host = SandboxedHost(limits=SandboxLimits(budget_ms=budget_ms))
    await run(host, "return 1")  # the plugin's environment is made outside the timing
    started = time.process_time()
    with pytest.raises(SandboxViolation) as info:
        await run(host, "while true do end")
    used = time.process_time() - started
    assert info.value.reason == "timeout"
    assert budget_ms / 1000 <= used < budget_ms / 1000 + 0.1
    assert info.value.detail == f"CPU budget of {budget_ms} ms exceeded"


async def test_budget_counts_every_run_between_waits() -> None:
    """A handler that sleeps between bursts uses up one budget across its runs."""
    host = SandboxedHost(limits=SandboxLimits(budget_ms=60))
    code = "for i = 1, 100 do local t = os.clock() while os.clock() - t < 0.01 do end ngx.sleep(0) end"
    started = time.monotonic()
    with pytest.raises(SandboxViolation):
        await run(host, code)
    assert time.monotonic() - started < 1.0  # stopped after about 6 bursts, not 100


async def test_memory_is_given_back_after_a_bomb() -> None:
    host = SandboxedHost(limits=SandboxLimits(max_memory=32 << 20))
    idle = host.runtime.get_memory_used()
    with pytest.raises(SandboxViolation) as info:
        await run(host, "local t = {} while true do t[#t + 1] = string.rep('x', 2^20) .. #t end")
    assert info.value.reason == "memory"
    assert info.value.detail == "memory limit of 32 MiB reached"
    assert host.runtime.get_memory_used() < idle + (4 << 20)
    assert not host.broken
    assert await run(host, "return 1 + 1") == (2,)


async def test_held_memory_marks_the_runtime_broken() -> None:
    host = SandboxedHost(limits=SandboxLimits(max_memory=16 << 20))
    with pytest.raises(SandboxViolation):
        await run(host, "HOARD = {} while true do HOARD[#HOARD + 1] = string.rep('x', 2^20) .. #HOARD end")
    assert host.broken  # the plugin keeps its hoard: only a new runtime helps


@pytest.mark.parametrize(
    "catcher",
    [
        "pcall(spin)",
        "xpcall(spin, function() return 'handled' end)",
        "xpcall(spin, spin)",
        "coroutine.wrap(function() pcall(spin) end)()",
        "coroutine.resume(coroutine.create(spin))",
        "pcall(coroutine.wrap(function() xpcall(spin, print) end))",
    ],
)
async def test_kill_cannot_be_swallowed(catcher: str) -> None:
    host = SandboxedHost()
    code = f"local function spin() while true do end end for i = 1, 1e9 do {catcher} end return 'survived'"
    with pytest.raises(SandboxViolation) as info:
        await run(host, code)
    assert info.value.reason == "timeout"
    assert await run(host, "return 'next call runs'") == (b"next call runs",)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"sandbox_cpu_budget_ms": 0}, "sandbox_cpu_budget_ms must be a positive number of milliseconds"),
        ({"sandbox_max_memory": 1 << 20}, "sandbox_max_memory must be at least 4 MiB"),
    ],
)
def test_bad_limits_fail_the_sandboxed_plugins(settings: dict, message: str, tmp_path: Path) -> None:
    registry = build_registry(Settings(**settings))
    assert "pre-function" not in registry
    assert message in registry.failures["pre-function"]


def test_limits_follow_the_settings() -> None:
    limits = SandboxLimits.from_settings(
        Settings(
            sandbox_cpu_budget_ms=30, sandbox_max_memory=32 << 20, untrusted_lua_sandbox_requires=["cjson"]
        )
    )
    assert (limits.budget_ms, limits.max_memory, limits.requires) == (30, 32 << 20, ("cjson",))
    assert limits.max_rep == 8 << 20  # a quarter of the memory cap
