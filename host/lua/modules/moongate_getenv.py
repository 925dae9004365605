"""Python half of ``moongate.getenv``: the environment variables Lua plugins may read.

nginx clears its workers' environment except ``TZ`` and the variables declared with
``env`` directives; Kong declares them from the ``nginx_main_env`` setting
(``KONG_NGINX_MAIN_ENV="FOO; env BAR"``).  Moongate keeps the same contract for
``os.getenv`` in trusted plugins: :func:`declared` reads the setting once, when the
module loads, and answers the names with their values (``NAME=value`` sets a value, as
``env NAME=value;`` does in nginx).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

#: nginx keeps this one whatever the configuration says
ALWAYS = ("TZ",)


def parse_env_directives(entries: Iterable[str]) -> list[tuple[str, str | None]]:
    """``["FOO; env BAR=1", "BAZ"]`` -> ``[("FOO", None), ("BAR", "1"), ("BAZ", None)]``.

    Each entry is a name, ``NAME=value``, or several of these joined the way Kong's
    injected directive allows (``;`` then ``env``).
    """
    out: list[tuple[str, str | None]] = []
    for entry in entries:
        for part in str(entry).split(";"):
            part = part.strip()
            if part.startswith("env ") or part.startswith("env\t"):
                part = part[4:].strip()
            if not part:
                continue
            name, eq, value = part.partition("=")
            out.append((name.strip(), value if eq else None))
    return out


def declared_env(entries: Iterable[str], environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a plugin may read: the declared names present in ``environ``
    (or given a value), plus ``TZ``."""
    environ = os.environ if environ is None else environ
    out = {name: environ[name] for name in ALWAYS if name in environ}
    for name, value in parse_env_directives(entries):
        if value is not None:
            out[name] = value
        elif name in environ:
            out[name] = environ[name]
    return out


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    def declared() -> Any:
        entries = getattr(host.settings, "nginx_main_env", None) or ()
        return host.to_lua(declared_env(entries))

    return {"declared": declared}
