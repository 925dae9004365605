"""``moongate config ...``: work with declarative configuration files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from host.cli import main, settings_from_env
from host.logs import setup_logging

__all__ = ["config"]


@main.group()
def config() -> None:
    """Work with declarative configuration files."""


@config.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(file_okay=False))
def config_validate(file: str, plugins_dirs: tuple[str, ...]) -> None:
    """Check FILE; print every error and exit non-zero when it is invalid."""
    from host.config import ConfigError, load_file
    from host.gateway import build_registry

    setup_logging("error")
    settings = settings_from_env()
    settings.plugins_dirs = [*settings.plugins_dirs, *plugins_dirs]
    registry = build_registry(settings)
    try:
        cfg = load_file(Path(file), registry)
    except ConfigError as err:
        for line in err.errors:
            click.echo(line)
        click.echo(f"{len(err.errors)} error(s)", err=True)
        sys.exit(1)
    except OSError as err:
        click.echo(f"{file}: {err.strerror or err}")
        sys.exit(1)
    counts = ", ".join(f"{n} {k}" for k, n in cfg.entity_counts().items() if n)
    click.echo(f"{Path(file).name}: configuration is valid ({counts or 'empty'})")
