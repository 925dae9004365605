"""The ``sandboxed`` trust level: a LuaJIT runtime of its own, with limits.

A :class:`SandboxedHost` is a :class:`~host.lua.runtime.LuaHost` created with
``max_memory = sandbox_max_memory`` into which ``host/lua/lua/sandbox.lua`` is loaded
(JIT off, the CPU budget hook, guarded ``pcall``/``xpcall``/``coroutine.resume``), with
``sandbox_strings.lua`` (the string limits, ``lpattern.lua`` for expensive patterns)
and ``sandbox_env.lua`` (the PDK limits, the environments built from
``sandbox_policy.lua``).  The driver
calls its limited ``H.scall``/``H.sresume`` instead of ``H.call``/``H.resume``; nothing
changes for the worker's trusted runtime.

A violation reaches the phase runner as a :class:`SandboxViolation` (a
:class:`~host.lua.driver.LuaHandlerError` with a ``reason``), so the client gets the
generic 500 and the log line and ``kong_plugin_errors_total`` carry the reason:

* ``timeout``: the handler used more than ``sandbox_cpu_budget_ms`` of CPU in one phase
  call (all its runs between I/O waits together);
* ``memory``: the runtime reached ``sandbox_max_memory``;
* ``limit``: a sandbox limit refused an operation (``string.rep`` size, nesting of
  ``string.gsub`` callbacks or coroutines, a value handed to the PDK);
* ``forbidden``: a refused ``require`` or a write to the protected ``kong``/``ngx``;
* ``broken``: the runtime's own machinery failed (it is recreated).

After every violation the runtime's budget is disarmed and its garbage collected; when it
no longer answers, or still holds more than half its memory cap, :attr:`broken` is set
and the owner (:class:`host.lua.trust.Sandbox`) replaces it with a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lupa.luajit21 import LuaError, LuaMemoryError

from host.lua.driver import LuaHandlerError
from host.lua.runtime import LuaHost, _lua_file

__all__ = ["SandboxViolation", "SandboxLimits", "SandboxedHost", "violation_from", "MARKER"]

log = logging.getLogger("moongate.lua")

#: error texts the Lua side uses for violations that are not plugin errors
MARKER = "\0moongate:violation:"
_MARKER_B = MARKER.encode()
LIMIT_PREFIX = "sandbox limit: "
#: Kong's wording for refused writes and requires (reason ``forbidden``)
_FORBIDDEN = (
    "Protected by the sandbox",
    "not allowed within sandbox",
    "the kong and ngx tables are read-only",
)
#: CPU budget of load-time calls into a sandboxed plugin (module bodies, schema walk)
LOAD_BUDGET = 2.0
#: string.rep output and values handed to the PDK (bytes), nesting of gsub callbacks
#: and coroutines, estimated steps above which a pattern runs in the Lua matcher
MAX_REP = 16 << 20
MAX_VALUE = 8 << 20
MAX_DEPTH = 40
MAX_WORK = 2_000_000


class SandboxViolation(LuaHandlerError):
    """Sandboxed code hit a limit; ``reason`` is ``timeout``, ``memory``, ``limit``,
    ``forbidden`` or ``broken`` (see the module docstring), ``detail`` says what."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"sandbox violation ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


def violation_from(text: str, budget_ms: int | None = None, max_memory: int | None = None) -> LuaHandlerError:
    """The exception for a failed Lua call's error text: a :class:`SandboxViolation`
    for the sandbox's markers and messages, else a plain :class:`LuaHandlerError`."""
    if text.startswith(MARKER):
        reason = text[len(MARKER) :].split("\n", 1)[0]
        if reason == "timeout":
            budget = f" of {budget_ms} ms" if budget_ms else ""
            return SandboxViolation("timeout", f"CPU budget{budget} exceeded")
        if reason == "memory":
            cap = f" of {max_memory >> 20} MiB" if max_memory else ""
            return SandboxViolation("memory", f"memory limit{cap} reached")
        return SandboxViolation(reason or "error", text)
    first = text.split("\nstack traceback:", 1)[0]
    if LIMIT_PREFIX in first:
        return SandboxViolation("limit", first)
    if any(marker in first for marker in _FORBIDDEN):
        return SandboxViolation("forbidden", first)
    return LuaHandlerError(text)


@dataclass(frozen=True)
class SandboxLimits:
    """The limits of sandboxed runtimes (from the settings of the same names)."""

    budget_ms: int = 50
    max_memory: int = 64 << 20
    requires: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()
    max_rep: int = MAX_REP
    max_value: int = MAX_VALUE
    max_depth: int = MAX_DEPTH
    max_work: int = MAX_WORK
    load_budget: float = LOAD_BUDGET

    @classmethod
    def from_settings(cls, settings: Any) -> SandboxLimits:
        if settings is None:
            return cls()
        budget = int(getattr(settings, "sandbox_cpu_budget_ms", 50))
        memory = int(getattr(settings, "sandbox_max_memory", 64 << 20))
        if budget <= 0:
            raise ValueError("sandbox_cpu_budget_ms must be a positive number of milliseconds")
        if memory < 4 << 20:
            raise ValueError("sandbox_max_memory must be at least 4 MiB (4194304 bytes)")
        return cls(
            budget_ms=budget,
            max_memory=memory,
            requires=tuple(getattr(settings, "untrusted_lua_sandbox_requires", ()) or ()),
            environment=tuple(getattr(settings, "untrusted_lua_sandbox_environment", ()) or ()),
            max_rep=min(MAX_REP, memory // 4),
        )

    def lua_table(self, host: LuaHost) -> Any:
        return host.to_lua(
            {
                "budget": self.budget_ms / 1000,
                "load_budget": max(self.load_budget, self.budget_ms / 1000),
                "max_rep": self.max_rep,
                "max_value": self.max_value,
                "max_depth": self.max_depth,
                "max_work": self.max_work,
                "requires": list(self.requires),
                "environment": list(self.environment),
            }
        )


class SandboxedHost(LuaHost):
    """A Lua runtime for sandboxed code: own memory cap, JIT off, CPU budget per call."""

    def __init__(
        self, settings: Any = None, *, name: str = "sandbox", limits: SandboxLimits | None = None
    ) -> None:
        self.limits = limits or SandboxLimits.from_settings(settings)
        super().__init__(settings, max_memory=self.limits.max_memory)
        self.name = name
        #: set when the runtime should be replaced (see the module docstring)
        self.broken = False
        #: violations seen by this runtime
        self.violations = 0
        load = self.runtime.eval("load")
        lpattern = load(_lua_file(b"lpattern"), b"@moongate/lpattern.lua")()
        policy = load(_lua_file(b"sandbox_policy"), b"@moongate/sandbox_policy.lua")()
        load(_lua_file(b"sandbox"), b"@moongate/sandbox.lua")(
            self.H, policy, lpattern, self.limits.lua_table(self), _lua_file
        )
        self._scall = self.H.scall
        self._sresume = self.H.sresume
        self._call = self._limited_call
        self._resume = self._limited_resume

    # -- the driver's entry points --------------------------------------------------------
    def _limited_call(self, *args: Any) -> tuple[Any, ...]:
        try:
            res = self._scall(*args)
        except LuaError as exc:
            raise self._host_failure(exc) from None
        if res[0] is False:
            self._after_error(res[1])
        return res  # type: ignore[no-any-return]

    def _limited_resume(self, *args: Any) -> tuple[Any, ...]:
        try:
            res = self._sresume(*args)
        except LuaError as exc:
            raise self._host_failure(exc) from None
        if res[0] is False:
            self._after_error(res[1])
        return res  # type: ignore[no-any-return]

    def violation(self, text: str) -> LuaHandlerError:
        """:func:`violation_from` with this runtime's limits in the message."""
        return violation_from(text, self.limits.budget_ms, self.limits.max_memory)

    def _after_error(self, message: Any) -> None:
        if message.__class__ is bytes and message.startswith(_MARKER_B):
            self.clean()

    def _host_failure(self, exc: LuaError) -> SandboxViolation:
        """The runtime's own code failed (out of memory outside plugin code, ...)."""
        memory = isinstance(exc, LuaMemoryError) or "not enough memory" in str(exc)
        self.clean()
        if not memory:
            self.broken = True
            return SandboxViolation("broken", str(exc).split("\n", 1)[0] or type(exc).__name__)
        return SandboxViolation("memory", f"memory limit of {self.limits.max_memory >> 20} MiB reached")

    def clean(self) -> None:
        """After a violation: disarm the budget, collect garbage, check the runtime."""
        self.violations += 1
        try:
            alive = bool(self.H.sandbox_reset()) and bool(self.H.sandbox_ping())
        except LuaError:
            alive = False
        try:
            self.runtime.gccollect()
            used = self.runtime.get_memory_used()
        except LuaError:
            alive, used = False, 0
        if not alive or (used or 0) > self.limits.max_memory // 2:
            log.warning(
                "sandboxed Lua runtime of '%s' is %s: it will be recreated",
                self.name,
                "broken" if not alive else f"still holding {used >> 20} MiB",
                extra={"plugin": self.name},
            )
            self.broken = True

    # -- load-time calls -------------------------------------------------------------------
    @contextmanager
    def loading(self) -> Iterator[None]:
        """Load-time calls into plugin code run under the load budget (main thread too)."""
        self.H.sandbox_begin_load()
        try:
            yield
        finally:
            killed = self.H.sandbox_end_load()
            if killed:
                self.clean()
                raise SandboxViolation(
                    "timeout", f"CPU budget of {self.limits.load_budget:g} s exceeded while loading"
                )
