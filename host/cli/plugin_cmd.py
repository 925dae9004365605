"""``moongate plugin ...``: the plugin author's commands (one plugin at a time).

``new`` scaffolds a project, ``validate`` loads a plugin alone and reports every
problem, ``info`` describes it (with its config's JSON Schema), ``pack`` builds a
package archive and ``install`` installs one.  ``moongate plugins ...`` (plural) is
about the set of plugins a gateway runs.  Problems go to stderr, one per line as
``file:line: message``; machine output goes to stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from host.cli import main, settings_from_env
from host.logs import setup_logging

if TYPE_CHECKING:
    from host.authorkit.validate import Report

__all__ = ["plugin"]

_TRUST = click.Choice(["trusted", "sandboxed"])


@main.group()
def plugin() -> None:
    """Write, check, package and install one plugin."""


@plugin.command("new")
@click.argument("name")
@click.option("--lang", "language", type=click.Choice(["lua", "python"]), required=True)
@click.option("--dir", "directory", default=".", type=click.Path(file_okay=False), help="Parent folder.")
def plugin_new(name: str, language: str, directory: str) -> None:
    """Create a working plugin project NAME (handler, schema, tests, CI, plugin.yaml)."""
    from host.authorkit.scaffold import ScaffoldError, new_project

    try:
        root, files = new_project(name, language, directory)
    except ScaffoldError as err:
        click.echo(f"moongate: {err}", err=True)
        sys.exit(1)
    click.echo(f"created {language} plugin {name} in {root}")
    for path in files:
        click.echo(f"  {path.relative_to(root)}")
    click.echo(f"next: cd {root} && python -m pytest -q")


def _report_or_exit(path: str, trust: str) -> Report:
    from host.authorkit.locate import LocateError, locate
    from host.authorkit.validate import validate

    setup_logging("crit")
    try:
        target = locate(path)
    except LocateError as err:
        click.echo(f"moongate: {err}", err=True)
        sys.exit(1)
    return validate(target, trust=trust)


@plugin.command("validate")
@click.argument("path", type=click.Path(exists=True))
@click.option("--trust", type=_TRUST, default="trusted", help="Load the plugin at this trust level.")
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def plugin_validate(path: str, trust: str, as_json: bool) -> None:
    """Load the plugin at PATH alone and report every problem (exit status 1 if any)."""
    report = _report_or_exit(path, trust)
    problems = report.problems
    target = report.target
    if as_json:
        click.echo(
            json.dumps(
                {"plugin": target.name, "ok": not problems, "problems": [p.as_dict() for p in problems]},
                indent=2,
            )
        )
    else:
        for problem in problems:
            click.echo(str(problem), err=True)
        if problems:
            click.echo(f"{target.name}: {len(problems)} problem(s)", err=True)
        else:
            spec = report.spec
            click.echo(f"{spec.name} {spec.version} ({spec.language}): ok")
    sys.exit(1 if problems else 0)


@plugin.command("info")
@click.argument("name_or_path")
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(file_okay=False))
@click.option("--trust", type=_TRUST, default="trusted")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (default: a short summary).")
def plugin_info(name_or_path: str, plugins_dirs: tuple[str, ...], trust: str, as_json: bool) -> None:
    """Name, version, priority, phases, language and config JSON Schema of a plugin: a PATH,
    or the NAME of a plugin this gateway can load (bundled, installed, --plugins-dir)."""
    from host.authorkit.validate import spec_info

    if Path(name_or_path).exists():
        report = _report_or_exit(name_or_path, trust)
        if report.spec is None:
            for problem in report.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)
        info = spec_info(report.spec, report.metadata)
    else:
        from host.gateway import build_registry

        setup_logging("crit")
        settings = settings_from_env()
        settings.plugins_dirs = [*settings.plugins_dirs, *plugins_dirs]
        registry = build_registry(settings)
        spec = registry.get(name_or_path)
        if spec is None:
            reason = registry.failures.get(name_or_path)
            click.echo(f"moongate: {reason or f'no plugin named {name_or_path!r}'}", err=True)
            sys.exit(1)
        info = spec_info(spec)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{info['name']} {info['version']} ({info['language']}), priority {info['priority']}")
    click.echo(f"phases: {', '.join(info['phases']) or '(none)'}")
    click.echo(f"source: {info['source']}")
    fields = info["schema"].get("properties", {})
    click.echo(f"config fields: {', '.join(fields) or '(none)'}")


@plugin.command("pack")
@click.argument("path", type=click.Path(exists=True), default=".")
@click.option(
    "-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default PATH/dist)."
)
def plugin_pack(path: str, out_dir: str | None) -> None:
    """Validate the plugin at PATH and build <name>-<version>.tar.gz plus its .sha256."""
    from host.authorkit.package import PackageError, pack

    setup_logging("crit")
    try:
        archive, checksum, meta = pack(path, out_dir)
    except PackageError as err:
        for problem in err.problems:
            click.echo(problem, err=True)
        sys.exit(1)
    click.echo(f"packed {meta.name} {meta.version}: {archive}")
    click.echo(f"checksum: {checksum}")


@plugin.command("install")
@click.argument("source")
@click.option("--plugins-dir", type=click.Path(file_okay=False), help="Where Lua plugins go.")
@click.option("--upgrade", is_flag=True, help="Replace an installed plugin of another version.")
@click.option("--trust", type=_TRUST, default="trusted", help="Validate the plugin at this trust level.")
@click.option(
    "--pip-target", type=click.Path(file_okay=False), help="Python plugins: pip install --target DIR."
)
@click.option(
    "--offline", is_flag=True, help="Python plugins: pip without an index (no deps, no build isolation)."
)
def plugin_install(
    source: str, plugins_dir: str | None, upgrade: bool, trust: str, pip_target: str | None, offline: bool
) -> None:
    """Install SOURCE (a package folder, a .tar.gz archive or a pip requirement) after
    checking its checksum, metadata, gateway compatibility and the plugin itself."""
    from host.authorkit.package import PackageError, install

    setup_logging("crit")
    if plugins_dir is None:
        dirs = settings_from_env().plugins_dirs
        plugins_dir = dirs[0] if dirs else None
    pip_args = [*(["--target", pip_target] if pip_target else [])]
    if offline:
        pip_args += ["--no-index", "--no-deps", "--no-build-isolation"]
    try:
        message = install(source, plugins_dir=plugins_dir, upgrade=upgrade, trust=trust, pip_args=pip_args)
    except PackageError as err:
        for problem in err.problems:
            click.echo(problem, err=True)
        click.echo(f"moongate: {source} was not installed", err=True)
        sys.exit(1)
    click.echo(message)
