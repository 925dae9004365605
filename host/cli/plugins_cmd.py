"""``moongate plugins ...``: inspect the plugins this gateway can run."""

from __future__ import annotations

import json

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
