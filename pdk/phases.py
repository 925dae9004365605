"""Kong's request phases as data, and the decorator every public PDK function uses.

A PDK function declares the phases it may run in once, with :func:`phase_checked`.
The same declaration checks the current phase at run time (raising Kong's
``function cannot be called in X phase (only in: ...)``) and feeds the
generated reference in ``sdk-docs/pdk/``.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from pdk.errors import PDKPhaseError

__all__ = [
    "Phase",
    "REQUEST",
    "NOT_INIT_WORKER",
    "AUTH_AND_LATER",
    "CTX",
    "EXIT",
    "RESPONSE_READ",
    "SERVICE_RESPONSE",
    "BODY_IN",
    "REWRITE_ACCESS",
    "REWRITE_ACCESS_BALANCER",
    "ACCESS",
    "BODY_FILTER",
    "LOG",
    "ANY",
    "phase_checked",
    "phase_names",
]


class Phase(enum.IntFlag):
    """One bit per phase, with Kong's bit values (``kong/pdk/private/phases.lua``)."""

    init_worker = 0x1
    certificate = 0x2
    rewrite = 0x10
    access = 0x20
    balancer = 0x40
    response = 0x80
    configure = 0x100  # Kong has no bit for configure; it runs outside requests like init_worker
    header_filter = 0x200
    body_filter = 0x400
    log = 0x2000
    error = 0x01000000
    admin_api = 0x10000000


P = Phase

#: rewrite, access, balancer, response, header_filter, body_filter, log, error, admin_api
REQUEST = (
    P.rewrite
    | P.access
    | P.balancer
    | P.response
    | P.header_filter
    | P.body_filter
    | P.log
    | P.error
    | P.admin_api
)
#: every phase but init_worker (and configure, which also has no request)
NOT_INIT_WORKER = REQUEST | P.certificate
#: access and later (the consumer and credential are known)
AUTH_AND_LATER = P.access | P.response | P.header_filter | P.body_filter | P.log
#: phases that have a per-request ``kong.ctx``
CTX = P.rewrite | P.access | P.response | P.header_filter | P.body_filter | P.log
#: phases where ``kong.response.exit`` and the response setters work
EXIT = P.rewrite | P.access | P.response | P.balancer | P.header_filter | P.error | P.admin_api
#: phases that can read the response being sent (``kong.response.get_*``)
RESPONSE_READ = P.response | P.header_filter | P.body_filter | P.log | P.error | P.admin_api
#: phases that can read the upstream response (``kong.service.response``)
SERVICE_RESPONSE = P.response | P.header_filter | P.body_filter | P.log
#: phases where the client request body can still be read
BODY_IN = P.rewrite | P.access | P.response | P.error | P.admin_api
REWRITE_ACCESS = P.rewrite | P.access
REWRITE_ACCESS_BALANCER = P.rewrite | P.access | P.balancer
#: single-phase sets, named so that every declaration reads the same way
ACCESS = P.access
BODY_FILTER = P.body_filter
LOG = P.log
ANY = Phase(sum(p.value for p in Phase))

#: the phases a plugin can implement, in execution order
PLUGIN_PHASES: tuple[str, ...] = (
    "init_worker",
    "configure",
    "certificate",
    "rewrite",
    "access",
    "response",
    "header_filter",
    "body_filter",
    "log",
)


def phase_names(phases: Phase) -> list[str]:
    """The names of the phases in a set, in Kong's order (bit order)."""
    return [p.name for p in Phase if p & phases and p.name]


F = TypeVar("F", bound=Callable[..., Any])


def public_name(impl: Callable[..., Any]) -> str:
    """``pdk.service.request.set_header`` -> ``kong.service.request.set_header``."""
    module = impl.__module__
    if module.startswith("pdk."):
        module = "kong." + module[4:]
    return f"{module}.{impl.__name__}"


def phase_checked(allowed: Phase) -> Callable[[F], F]:
    """Declare the phases a PDK function may be called in.

    The wrapped implementation receives the current request context as its first
    argument; the public function takes only the documented arguments.
    """
    from host.context import current_context  # local: pdk.phases is imported by host.context

    allowed_names = ", ".join(phase_names(allowed))
    mask = int(allowed)

    def decorate(impl: F) -> F:
        name = public_name(impl)

        def fail(ctx: Any) -> Any:
            raise PDKPhaseError(
                f"{name}: function cannot be called in {Phase(ctx.phase).name} phase (only in: {allowed_names})"
            )

        checked = _checked_wrapper(impl, current_context, mask, fail)
        functools.update_wrapper(checked, impl)
        checked.__phases__ = allowed  # type: ignore[attr-defined]
        checked.__pdk_impl__ = impl  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorate


def _checked_wrapper(
    impl: Callable[..., Any], current_context: Callable[[], Any], mask: int, fail: Callable[[Any], Any]
) -> Callable[..., Any]:
    """``impl`` without its context argument, behind the phase check.

    The wrapper is generated with ``impl``'s own parameters (as :mod:`dataclasses`
    generates ``__init__``) rather than written as ``(*args, **kwargs)``: CPython
    specializes and inlines calls with exact positional arguments, which makes every
    PDK call about twice as cheap.
    """
    params = list(inspect.signature(impl).parameters.values())[1:]  # drop ``ctx``
    defaults: dict[str, Any] = {}
    signature: list[str] = []
    call: list[str] = []
    star_seen = False
    for param in params:
        text = param.name
        if param.default is not inspect.Parameter.empty:
            defaults[f"_default_{param.name}"] = param.default
            text += f"=_default_{param.name}"
        if param.kind is param.VAR_POSITIONAL:
            text, star_seen = f"*{param.name}", True
            call.append(text)
        elif param.kind is param.VAR_KEYWORD:
            text = f"**{param.name}"
            call.append(text)
        elif param.kind is param.KEYWORD_ONLY:
            if not star_seen:
                signature.append("*")
                star_seen = True
            call.append(f"{param.name}={param.name}")
        elif param.kind is param.POSITIONAL_ONLY:
            call.append(param.name)
        else:
            call.append(param.name)
        signature.append(text)
    positional_only = [p for p in params if p.kind is p.POSITIONAL_ONLY]
    if positional_only:
        signature.insert(len(positional_only), "/")
    source = (
        f"def __make({', '.join(['_impl', '_current', '_mask', '_fail', *defaults])}):\n"
        f"    def {impl.__name__}({', '.join(signature)}):\n"
        f"        ctx = _current()\n"
        f"        if ctx.phase & _mask:\n"
        f"            return _impl({', '.join(['ctx', *call])})\n"
        f"        return _fail(ctx)\n"
        f"    return {impl.__name__}\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<phase check of {impl.__module__}.{impl.__qualname__}>", "exec"), namespace)  # noqa: S102
    return namespace["__make"](impl, current_context, mask, fail, *defaults.values())  # type: ignore[no-any-return]
