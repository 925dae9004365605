"""What the host knows about one loaded plugin, whatever its language."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pdk.phases import PLUGIN_PHASES

__all__ = ["PluginSpec", "PluginRegistry", "PluginLoadError", "validate_metadata"]

_VERSION_RE = re.compile(r"\d+(\.\d+){0,2}")

#: phases that run once per worker / per config rather than per request
WORKER_PHASES = ("init_worker", "configure")


class PluginLoadError(Exception):
    """A plugin could not be loaded; the message names the plugin, file and problem."""

    def __init__(self, plugin: str, source: str, message: str) -> None:
        self.plugin = plugin
        self.source = source
        self.reason = message
        super().__init__(f"plugin '{plugin}' ({source}): {message}")


@dataclass(eq=False)
class PluginSpec:
    """A loaded plugin: metadata, schema and one callable per implemented phase.

    ``handlers[phase]`` is called as ``handler(kong, conf)`` for request phases,
    ``handler(kong)`` for ``init_worker`` and ``handler(kong, configs)`` for
    ``configure``.  Phases listed in ``async_phases`` may return an awaitable
    (the caller awaits it when it is not ``None``: a Lua handler that did no I/O
    finishes synchronously).
    """

    name: str
    version: str
    priority: int
    language: str  # "python" | "lua"
    source: str  # file the plugin was loaded from
    schema: Any  # host.schema.Schema for the plugin entity (its ``config`` record inside)
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    async_phases: frozenset[str] = frozenset()
    no_consumer: bool = False
    no_route: bool = False
    no_service: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def phases(self) -> tuple[str, ...]:
        """Implemented phases, in execution order."""
        return tuple(p for p in PLUGIN_PHASES if p in self.handlers)

    def sort_key(self) -> tuple[int, str]:
        """Kong's order: PRIORITY descending, then name descending (``a.name > b.name``)."""
        return (-self.priority, _Desc(self.name))  # type: ignore[return-value]


class _Desc(str):
    """A string that sorts in reverse."""

    def __lt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__gt__(self, other)


def validate_metadata(
    name: str, source: str, priority: Any, version: Any, phases: Iterable[str]
) -> tuple[int, str]:
    """Check PRIORITY, VERSION and the response/filter exclusion the way Kong does at load."""
    if isinstance(priority, bool) or not isinstance(priority, int | float) or priority != priority:
        raise PluginLoadError(name, source, f"PRIORITY must be an integer, got {priority!r}")
    if isinstance(priority, float):
        if not priority.is_integer():
            raise PluginLoadError(name, source, f"PRIORITY must be an integer, got {priority!r}")
        priority = int(priority)
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        raise PluginLoadError(name, source, f"VERSION must be a version string like '1.0.0', got {version!r}")
    phases = set(phases)
    if "response" in phases and phases & {"header_filter", "body_filter"}:
        raise PluginLoadError(
            name,
            source,
            "a plugin cannot implement 'response' together with 'header_filter' or 'body_filter'",
        )
    return int(priority), version


class PluginRegistry:
    """The plugins available to this gateway, by name."""

    def __init__(self, specs: Iterable[PluginSpec] = ()) -> None:
        self._specs: dict[str, PluginSpec] = {}
        #: plugins that failed to load: name -> reason (shown by the status endpoint and the CLI)
        self.failures: dict[str, str] = {}
        #: the worker's Lua runtime (host.lua.runtime.LuaHost) when Lua plugins are enabled
        self.lua: Any = None
        for spec in specs:
            self.add(spec)

    def add(self, spec: PluginSpec) -> None:
        if spec.name in self._specs:
            other = self._specs[spec.name]
            raise PluginLoadError(
                spec.name, spec.source, f"a plugin with this name is already loaded from {other.source}"
            )
        self._specs[spec.name] = spec

    def get(self, name: str) -> PluginSpec | None:
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[PluginSpec]:
        return iter(sorted(self._specs.values(), key=PluginSpec.sort_key))

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        return sorted(self._specs)
