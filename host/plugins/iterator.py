"""Which plugin configuration runs for a request: Kong's precedence, resolved once per config.

Built once per config snapshot from the enabled plugin entities.  For each plugin
name the configs are indexed by ``(route_id, service_id, consumer_id)`` (``""``
for a missing id).  A request's candidate list for ``(route, service)`` is computed
once and cached; only the consumer-scoped part is looked up per request, at the
moment the plugin's turn comes (so the consumer set by an auth plugin applies to
plugins that run after it), exactly like Kong's ``plugins_iterator.lua``:

route+service+consumer > route+consumer > service+consumer > route+service >
consumer > route > service > global.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from host.plugins.ordering import access_order, dependencies
from host.plugins.spec import PluginRegistry, PluginSpec

__all__ = ["PluginInstance", "PluginIterator", "Candidate", "Collected", "Plan", "HandlerCall", "NO_PLUGINS"]

#: one handler ready to call: ``(fn, is_async, conf, plugin name, plugin id)``
HandlerCall = tuple[Any, bool, dict[str, Any], str, str]


@dataclass(eq=False)
class PluginInstance:
    """One enabled plugin entity, with the ``conf`` table its handlers receive."""

    spec: PluginSpec
    entity: dict[str, Any]
    conf: dict[str, Any]
    id: str
    route_id: str = ""
    service_id: str = ""
    consumer_id: str = ""
    #: phase -> (callable, is_async); only the phases the plugin implements
    calls: dict[str, tuple[Any, bool]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def is_global(self) -> bool:
        return not (self.route_id or self.service_id or self.consumer_id)


def _fk(entity: dict[str, Any], key: str) -> str:
    ref = entity.get(key)
    if isinstance(ref, dict):
        return str(ref.get("id") or "")
    return str(ref or "")


def make_instance(spec: PluginSpec, entity: dict[str, Any]) -> PluginInstance:
    """Build the runtime view of a plugin entity: Kong injects ids into ``conf``."""
    route_id, service_id, consumer_id = _fk(entity, "route"), _fk(entity, "service"), _fk(entity, "consumer")
    conf = dict(entity.get("config") or {})
    conf["route_id"] = route_id or None
    conf["service_id"] = service_id or None
    conf["consumer_id"] = consumer_id or None
    conf["plugin_instance_name"] = entity.get("instance_name")
    conf["__plugin_id"] = entity["id"]
    conf["__key__"] = f"plugins:{spec.name}:{route_id}:{service_id}:{consumer_id}::"
    calls = {phase: (handler, phase in spec.async_phases) for phase, handler in spec.handlers.items()}
    return PluginInstance(spec, entity, conf, entity["id"], route_id, service_id, consumer_id, calls)


class Collected:
    """Plugin configs collected for a request, with each phase's handlers listed once.

    ``calls[phase]`` holds the :data:`HandlerCall` tuples of the instances that implement
    ``phase``, in execution order; a phase no instance implements is absent, so "does
    any plugin run in this phase" is one dict lookup.  Built once per plan (or for the
    global configs) and shared by requests; built per request only when a config
    depends on the consumer.
    """

    __slots__ = ("instances", "calls", "sees_response")

    def __init__(
        self, instances: Iterable[PluginInstance], access_rank: dict[str, int] | None = None
    ) -> None:
        self.instances: tuple[PluginInstance, ...] = tuple(instances)
        calls: dict[str, list[HandlerCall]] = {}
        for inst in self.instances:
            name = inst.spec.name
            for phase, (fn, is_async) in inst.calls.items():
                calls.setdefault(phase, []).append((fn, is_async, inst.conf, name, inst.id))
        if access_rank and "access" in calls:  # dynamic ordering (host/plugins/ordering.py)
            calls["access"].sort(key=lambda call: access_rank[call[3]])
        self.calls: dict[str, tuple[HandlerCall, ...]] = {p: tuple(c) for p, c in calls.items()}
        #: some handler reads or edits the response (else it is sent as the upstream's)
        self.sees_response = any(p in self.calls for p in ("response", "header_filter", "body_filter", "log"))


#: no plugin at all (a route without plugins)
NO_PLUGINS = Collected(())


@dataclass(eq=False, slots=True)
class Candidate:
    """A plugin that may run for one (route, service): its config without a consumer,
    and its consumer-scoped configs when it has any."""

    spec: PluginSpec
    base: PluginInstance | None
    base_is_route_service: bool
    by_consumer: dict[tuple[str, str, str], PluginInstance] | None
    route_id: str
    service_id: str

    def instances(self) -> list[PluginInstance]:
        """Every config this candidate may resolve to."""
        found = [self.base] if self.base is not None else []
        return found + list((self.by_consumer or {}).values())

    def resolve(self, consumer_id: str) -> PluginInstance | None:
        """The config for the current consumer (``""`` when none), by Kong's precedence."""
        combos = self.by_consumer
        if not consumer_id or combos is None:
            return self.base
        r, s = self.route_id, self.service_id
        inst = (
            combos.get((r, s, consumer_id))
            or combos.get((r, "", consumer_id))
            or combos.get(("", s, consumer_id))
        )
        if inst is not None:
            return inst
        if self.base_is_route_service:
            return self.base
        return combos.get(("", "", consumer_id)) or self.base


class Plan:
    """The candidates of one (route, service), in execution order.

    ``static`` is the collected set when no candidate has a consumer-scoped config (the
    common case): the configs are then known before access runs and the request reuses
    this one :class:`Collected`.  Otherwise (``None``) they are resolved per request.
    ``access_candidates`` is the order of the access phase: the priority order unless
    some instance has ``ordering`` rules (resolved here, once per plan).

    Raises:
        OrderingCycle: the ordering rules of these plugins cannot all hold.
    """

    __slots__ = ("candidates", "static", "access_candidates", "access_rank")

    def __init__(self, candidates: list[Candidate]) -> None:
        self.candidates = candidates
        self.access_candidates = candidates
        self.access_rank: dict[str, int] | None = None
        entities = [inst.entity for c in candidates for inst in c.instances() if inst.entity.get("ordering")]
        if entities:
            names = [c.spec.name for c in candidates]
            order = access_order(names, dependencies(entities, set(names)))
            if order != names:
                self.access_rank = {name: i for i, name in enumerate(order)}
                self.access_candidates = sorted(candidates, key=lambda c: self.access_rank[c.spec.name])  # type: ignore[index]
        self.static: Collected | None = None
        if all(c.by_consumer is None for c in candidates):
            self.static = Collected((c.base for c in candidates if c.base is not None), self.access_rank)


class PluginIterator:
    """The enabled plugin instances of one config snapshot, indexed for fast lookup."""

    def __init__(self, entities: Iterable[dict[str, Any]], registry: PluginRegistry) -> None:
        self.instances: list[PluginInstance] = []
        self._combos: dict[str, dict[tuple[str, str, str], PluginInstance]] = {}
        specs: dict[str, PluginSpec] = {}
        for entity in entities:
            if not entity.get("enabled", True):
                continue
            spec = registry.get(entity["name"])
            if spec is None:  # the loader refuses unknown names; be safe anyway
                continue
            if not any(p in ("http", "https", "grpc", "grpcs") for p in entity.get("protocols") or ["http"]):
                continue
            inst = make_instance(spec, entity)
            key = (
                "" if spec.no_route else inst.route_id,
                "" if spec.no_service else inst.service_id,
                "" if spec.no_consumer else inst.consumer_id,
            )
            self.instances.append(inst)
            self._combos.setdefault(spec.name, {})[key] = inst
            specs[spec.name] = spec
        #: specs with at least one enabled config, in execution order
        self.specs: list[PluginSpec] = sorted(specs.values(), key=PluginSpec.sort_key)
        self._globals: dict[str, PluginInstance] = {
            name: combos[("", "", "")] for name, combos in self._combos.items() if ("", "", "") in combos
        }
        self._phase_globals: dict[str, list[PluginInstance]] = {}
        self._plans: dict[tuple[str, str], Plan] = {}
        #: the global configs, for the phases that run when access did not
        self.global_plugins = Collected(
            self._globals[spec.name] for spec in self.specs if spec.name in self._globals
        )

    # -- global lists (certificate, rewrite; fallback for filters/log without access) ------
    def globals_for(self, phase: str) -> list[PluginInstance]:
        """Global configs of the plugins implementing ``phase``, in execution order."""
        found = self._phase_globals.get(phase)
        if found is None:
            found = [
                self._globals[spec.name]
                for spec in self.specs
                if spec.name in self._globals and phase in spec.handlers
            ]
            self._phase_globals[phase] = found
        return found

    # -- per-route plans ---------------------------------------------------------------------
    def plan(self, route_id: str, service_id: str) -> Plan:
        """Candidates for a route and service, in execution order (cached)."""
        key = (route_id, service_id)
        plan = self._plans.get(key)
        if plan is None:
            plan = Plan(self._candidates(route_id, service_id))
            if len(self._plans) < 100_000:
                self._plans[key] = plan
        return plan

    def _candidates(self, route_id: str, service_id: str) -> list[Candidate]:
        plan: list[Candidate] = []
        for spec in self.specs:
            combos = self._combos[spec.name]
            r = "" if spec.no_route else route_id
            s = "" if spec.no_service else service_id
            base = None
            base_is_rs = False
            if r and s and (r, s, "") in combos:
                base, base_is_rs = combos[(r, s, "")], True
            else:
                base = (
                    (combos.get((r, "", "")) if r else None)
                    or (combos.get(("", s, "")) if s else None)
                    or combos.get(("", "", ""))
                )
            by_consumer = None
            if not spec.no_consumer:
                relevant = {k: v for k, v in combos.items() if k[2] and k[0] in ("", r) and k[1] in ("", s)}
                by_consumer = relevant or None
            if base is None and by_consumer is None:
                continue
            plan.append(Candidate(spec, base, base_is_rs, by_consumer, r, s))
        return plan

    def configs_of(self, name: str) -> list[dict[str, Any]]:
        """Every enabled ``conf`` of a plugin (the argument of its ``configure`` handler)."""
        return [inst.conf for inst in self.instances if inst.spec.name == name]
