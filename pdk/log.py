"""kong.log: log lines namespaced with the running plugin, and the request log serializer.

Lines go to the standard :mod:`logging` logger ``moongate.plugin`` with Kong's
levels mapped onto logging levels (``notice``, ``alert`` and ``emerg`` are added
as NOTICE=25, ALERT=55 and EMERG=60).  The message is ``[<plugin>] <text>`` where
the text is the arguments converted to strings and joined without separator, as
Kong does; each record carries ``plugin``, ``request_id`` and ``phase`` in its
``extra`` fields.  ``kong.log(...)`` itself logs at ``notice``.  There is no
``kong.log.error`` (Kong has none either): use ``kong.log.err``.
"""

from __future__ import annotations

import logging
import os
import pprint
from typing import TYPE_CHECKING, Any

from host.context import current_context
from pdk import _serialize
from pdk._headers import lua_tostring
from pdk.errors import PDKArgumentError
from pdk.phases import ANY, CTX, LOG, Phase, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "debug",
    "info",
    "notice",
    "warn",
    "err",
    "crit",
    "alert",
    "emerg",
    "trace",
    "inspect",
    "deprecation",
    "set_serialize_value",
    "serialize",
]

logger = logging.getLogger("moongate.plugin")

NOTICE, ALERT, EMERG = 25, 55, 60
for _level, _name in ((NOTICE, "NOTICE"), (ALERT, "ALERT"), (EMERG, "EMERG")):
    logging.addLevelName(_level, _name)

#: Kong's level names -> logging levels
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": NOTICE,
    "warn": logging.WARNING,
    "err": logging.ERROR,
    "crit": logging.CRITICAL,
    "alert": ALERT,
    "emerg": EMERG,
}

_IS_TESTING = os.environ.get("KONG_IS_TESTING") == "1"
#: plugin names whose ``kong.log.inspect`` was turned off with ``kong.log.inspect.off()``
_inspect_off: set[str] = set()
#: frames between the plugin's call and ``logger.log``: the impl, the phase wrapper, the caller
_STACK = 4


def _text(value: Any) -> str:
    return value if isinstance(value, str) else lua_tostring(value)


def _emit(ctx: Context, level: int, message: str, stacklevel: int) -> None:
    plugin = ctx.plugin_name
    logger.log(
        level,
        f"[{plugin}] {message}" if plugin else message,
        stacklevel=stacklevel,
        extra={"plugin": plugin, "request_id": ctx.request_id, "phase": Phase(ctx.phase).name},
    )


def _log(ctx: Context, level: int, args: tuple[Any, ...], stacklevel: int = _STACK + 1) -> None:
    if logger.isEnabledFor(level):
        _emit(ctx, level, "".join(map(_text, args)), stacklevel)


@phase_checked(ANY)
def debug(ctx: Context, *args: Any) -> None:
    """Log at debug level; the arguments are converted to strings and concatenated.

    Args:
        *args: the message parts.

    Example:
        Lua: kong.log.debug("cache miss for ", key)
        Python: kong.log.debug("cache miss for ", key)
    """
    _log(ctx, logging.DEBUG, args)


@phase_checked(ANY)
def info(ctx: Context, *args: Any) -> None:
    """Log at info level; the arguments are converted to strings and concatenated.

    Args:
        *args: the message parts.

    Example:
        Lua: kong.log.info("consumer ", consumer.id, " authenticated")
        Python: kong.log.info("consumer ", consumer["id"], " authenticated")
    """
    _log(ctx, logging.INFO, args)


@phase_checked(ANY)
def notice(ctx: Context, *args: Any) -> None:
    """Log at notice level (also what ``kong.log(...)`` does).

    Args:
        *args: the message parts.

    Example:
        Lua: kong.log.notice("config reloaded")
        Python: kong.log.notice("config reloaded")
    """
    _log(ctx, NOTICE, args)


@phase_checked(ANY)
def warn(ctx: Context, *args: Any) -> None:
    """Log at warn level.

    Args:
        *args: the message parts.

    Example:
        Lua: kong.log.warn("slow upstream: ", ms, " ms")
        Python: kong.log.warn("slow upstream: ", ms, " ms")
    """
    _log(ctx, logging.WARNING, args)


@phase_checked(ANY)
def err(ctx: Context, *args: Any) -> None:
    """Log at error level.

    Args:
        *args: the message parts.

    Example:
        Lua: kong.log.err("failed to reach the IdP: ", err)
        Python: kong.log.err("failed to reach the IdP: ", err)
    """
    _log(ctx, logging.ERROR, args)


@phase_checked(ANY)
def crit(ctx: Context, *args: Any) -> None:
    """Log at critical level.

    Args:
        *args: the message parts.

    Example:
        Lua: kong.log.crit("key store unreadable")
        Python: kong.log.crit("key store unreadable")
    """
    _log(ctx, logging.CRITICAL, args)


@phase_checked(ANY)
def alert(ctx: Context, *args: Any) -> None:
    """Log at alert level.

    Args:
        *args: the message parts.

    Example:
        Lua: kong.log.alert("certificate expires today")
        Python: kong.log.alert("certificate expires today")
    """
    _log(ctx, ALERT, args)


@phase_checked(ANY)
def emerg(ctx: Context, *args: Any) -> None:
    """Log at emergency level.

    Args:
        *args: the message parts.

    Example:
        Lua: kong.log.emerg("cannot continue")
        Python: kong.log.emerg("cannot continue")
    """
    _log(ctx, EMERG, args)


@phase_checked(ANY)
def trace(ctx: Context, *args: Any) -> None:
    """Log at debug level, only when the environment has ``KONG_IS_TESTING=1``.

    Args:
        *args: the message parts.

    Example:
        Lua: kong.log.trace("state: ", state)
        Python: kong.log.trace("state: ", state)
    """
    if _IS_TESTING:
        _log(ctx, logging.DEBUG, args)


@phase_checked(ANY)
def inspect(ctx: Context, *args: Any) -> None:
    """Pretty-print values at notice level, separated by spaces (for debugging).

    ``kong.log.inspect.off()`` silences it for the running plugin and
    ``kong.log.inspect.on()`` turns it back on.

    Args:
        *args: the values to show.

    Example:
        Lua: kong.log.inspect(kong.request.get_headers())
        Python: kong.log.inspect(kong.request.get_headers())
    """
    if (ctx.plugin_name or "") in _inspect_off or not logger.isEnabledFor(NOTICE):
        return
    _emit(ctx, NOTICE, " ".join(pprint.pformat(a, width=100) for a in args), _STACK)


def _inspect_on() -> None:
    _inspect_off.discard(current_context().plugin_name or "")


def _inspect_off_fn() -> None:
    _inspect_off.add(current_context().plugin_name or "")


inspect.on = _inspect_on  # type: ignore[attr-defined]
inspect.off = _inspect_off_fn  # type: ignore[attr-defined]


@phase_checked(ANY)
def deprecation(ctx: Context, *args: Any) -> None:
    """Log a deprecation warning; a last dict argument may give ``after`` and ``removal`` versions.

    Args:
        *args: the message parts, then optionally ``{"after": "x.y.z", "removal": "x.y.z"}``.

    Example:
        Lua: kong.log.deprecation("config.foo is deprecated", { after = "1.2.0", removal = "2.0.0" })
        Python: kong.log.deprecation("config.foo is deprecated", {"after": "1.2.0", "removal": "2.0.0"})
    """
    options: dict[str, Any] = {}
    if args and isinstance(args[-1], dict):
        options, args = args[-1], args[:-1]
    message = "".join(map(_text, args))
    after, removal = options.get("after"), options.get("removal")
    if after and removal:
        message += f" (deprecated after {after}, scheduled for removal in {removal})"
    elif after:
        message += f" (deprecated after {after})"
    elif removal:
        message += f" (scheduled for removal in {removal})"
    if logger.isEnabledFor(logging.WARNING):
        _emit(ctx, logging.WARNING, message, _STACK)


@phase_checked(CTX)
def set_serialize_value(ctx: Context, key: str, value: Any, options: dict[str, Any] | None = None) -> None:
    """Add, change or remove a value in the table ``kong.log.serialize()`` returns.

    Edits are queued and applied in order each time ``serialize()`` runs.

    Args:
        key: a dotted path, e.g. ``"request.headers.x-id"``; ``\\.`` is a literal dot.
        value: None (removes the key), a number, string, boolean, or a dict/list of these.
        options: ``{"mode": "set"}`` (default), ``"add"`` (only if absent) or
            ``"replace"`` (only if present).

    Raises:
        PDKArgumentError: ``key must be a string``, an invalid mode, or a value of another type.

    Example:
        Lua: kong.log.set_serialize_value("request.headers.x-id", id)
        Python: kong.log.set_serialize_value("request.headers.x-id", request_id)
    """
    if not isinstance(key, str):
        raise PDKArgumentError("key must be a string")
    if options is None:
        mode = "set"
    elif isinstance(options, dict):
        mode = options.get("mode") or "set"
    else:
        raise PDKArgumentError("options must be a table")
    if mode not in ("set", "add", "replace"):
        raise PDKArgumentError("mode must be 'set', 'add' or 'replace'")
    _serialize.check_value(value)
    ctx.serialize_values.append((key, value, mode))


@phase_checked(LOG)
def serialize(ctx: Context) -> dict[str, Any]:
    """The standard log table of the request, as Kong's log plugins send it.

    ``request.headers`` ``authorization`` and ``proxy-authorization`` are
    ``"REDACTED"``; route, service and consumer are copies (credentials never
    appear); latencies are in milliseconds (``proxy`` is -1 when not proxied).

    Returns:
        ``{request, upstream_uri, upstream_status, response, latencies, tries,
        authenticated_entity, route, service, consumer, client_ip, started_at,
        source, workspace, workspace_name}`` with the queued edits applied.

    Example:
        Lua: local entry = cjson.encode(kong.log.serialize())
        Python: entry = json.dumps(kong.log.serialize())
    """
    return _serialize.serialize(ctx)


class KongLog:
    """The ``kong.log`` object: the log functions, and callable itself like ``notice``."""

    __slots__ = ()

    debug = staticmethod(debug)
    info = staticmethod(info)
    notice = staticmethod(notice)
    warn = staticmethod(warn)
    err = staticmethod(err)
    crit = staticmethod(crit)
    alert = staticmethod(alert)
    emerg = staticmethod(emerg)
    trace = staticmethod(trace)
    inspect = staticmethod(inspect)
    deprecation = staticmethod(deprecation)
    set_serialize_value = staticmethod(set_serialize_value)
    serialize = staticmethod(serialize)

    def __call__(self, *args: Any) -> None:
        _log(current_context(), NOTICE, args, 4)

    def __repr__(self) -> str:
        return "<kong.log>"


#: what ``kong.log`` is
PDK_NAMESPACE = KongLog()
