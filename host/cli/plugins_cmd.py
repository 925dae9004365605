"""``moongate plugins ...``: inspect the plugins this gateway can run."""

from __future__ import annotations

import json
import sys

import click

from host.cli import main, settings_from_env
from host.logs import setup_logging

__all__ = ["plugins"]


@main.group()
def plugins() -> None:
    """Inspect the plugins this gateway can run."""


@plugins.command("list")
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_list(plugins_dirs: tuple[str, ...], as_json: bool) -> None:
    """Name, language, version, priority and phases of every loadable plugin."""
    from host.gateway import build_registry

    setup_logging("crit")
    settings = settings_from_env()
    settings.plugins_dirs = [*settings.plugins_dirs, *plugins_dirs]
    registry = build_registry(settings)
    rows = [
        {
            "name": s.name,
            "language": s.language,
            "version": s.version,
            "priority": s.priority,
            "phases": list(s.phases),
        }
        for s in registry
    ]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "failed": registry.failures}, indent=2))
        return
    header = ("NAME", "LANGUAGE", "VERSION", "PRIORITY", "PHASES")
    table = [header] + [
        (r["name"], r["language"], r["version"], str(r["priority"]), ",".join(r["phases"])) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for reason in registry.failures.values():
        click.echo(f"failed: {reason}", err=True)


@plugins.command("order")
@click.option("-c", "--conf", "config_file", type=click.Path(dir_okay=False), help="Declarative config.")
@click.option("--route", "route_ref", required=True, help="Route name or id.")
@click.option("--consumer", "consumer_ref", help="Resolve consumer-scoped configs for this consumer.")
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def plugins_order(
    config_file: str | None,
    route_ref: str,
    consumer_ref: str | None,
    plugins_dirs: tuple[str, ...],
    as_json: bool,
) -> None:
    """The plugins that run on a route, per phase, in their effective order (PRIORITY and
    the ``ordering`` rules)."""
    from host.config import ConfigError, load_file
    from host.gateway import build_registry
    from host.plugins.iterator import PluginIterator
    from pdk.phases import PLUGIN_PHASES

    setup_logging("crit")
    settings = settings_from_env()
    settings.plugins_dirs = [*settings.plugins_dirs, *plugins_dirs]
    path = config_file or settings.declarative_config
    if not path:
        raise click.UsageError("give the declarative config with -c FILE (or KONG_DECLARATIVE_CONFIG)")
    registry = build_registry(settings)
    try:
        config = load_file(path, registry)
    except ConfigError as err:
        for line in err.errors:
            click.echo(line, err=True)
        sys.exit(1)
    route = next((r for r in config.routes if route_ref in (r.get("name"), r["id"])), None)
    if route is None:
        click.echo(f"{path}: no route named {route_ref!r}", err=True)
        sys.exit(1)
    consumer_id = ""
    if consumer_ref:
        consumer = next(
            (c for c in config.consumers if consumer_ref in (c.get("username"), c.get("custom_id"), c["id"])),
            None,
        )
        if consumer is None:
            click.echo(f"{path}: no consumer {consumer_ref!r}", err=True)
            sys.exit(1)
        consumer_id = consumer["id"]
    plan = PluginIterator(config.plugins, registry).plan(
        route["id"], (route.get("service") or {}).get("id") or ""
    )
    chains: dict[str, list[str]] = {}
    for phase in PLUGIN_PHASES:
        candidates = plan.access_candidates if phase == "access" else plan.candidates
        chain = []
        for cand in candidates:
            inst = cand.resolve(consumer_id)
            if inst is not None and phase in inst.spec.handlers:
                chain.append(inst.spec.name)
        if chain:
            chains[phase] = chain
    if as_json:
        click.echo(json.dumps({"route": route.get("name") or route["id"], "phases": chains}, indent=2))
        return
    click.echo(
        f"route {route.get('name') or route['id']}" + (f", consumer {consumer_ref}" if consumer_ref else "")
    )
    width = max((len(p) for p in chains), default=0)
    for phase, chain in chains.items():
        click.echo(f"  {phase.ljust(width)}  {' -> '.join(chain)}")
    if not chains:
        click.echo("  (no plugin runs on this route)")
