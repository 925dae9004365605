"""Errors raised by the PDK and the signal used by ``kong.response.exit``."""

from __future__ import annotations

__all__ = ["PDKError", "PDKPhaseError", "PDKArgumentError", "ExitSignal"]


class PDKError(Exception):
    """An operational failure of a PDK call (Lua callers get ``nil, err`` instead)."""


class PDKPhaseError(PDKError):
    """A PDK function was called in a phase where Kong forbids it."""


class PDKArgumentError(PDKError, TypeError):
    """A PDK function was given an argument of the wrong type or value (caller misuse)."""


class ExitSignal(BaseException):
    """Raised by ``kong.response.exit``/``error`` to stop the running handler.

    It derives from BaseException so that a plugin's ``except Exception`` does not
    swallow it, the same way Kong never resumes a handler's coroutine after exit.
    The response itself is already stored on the request context when this is raised.
    """
