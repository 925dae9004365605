"""``moongate config ...``: declarative files, and a running gateway's configuration.

``validate`` checks a file; ``dump``, ``diff`` and ``sync`` talk to a running
gateway's Admin API (``--admin-url``) with decK's semantics (host/admin/deck.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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


# -- against a running gateway (its Admin API) -------------------------------------------------
_ADMIN_URL = click.option(
    "--admin-url",
    envvar="MOONGATE_ADMIN_URL",
    default="http://127.0.0.1:8001",
    show_default=True,
    help="The gateway's Admin API.",
)
_ADMIN_TOKEN = click.option(
    "--admin-token", envvar="KONG_ADMIN_TOKEN", help="Sent as Kong-Admin-Token (env KONG_ADMIN_TOKEN)."
)


def _admin(method: str, url: str, token: str | None, body: bytes | None = None) -> tuple[int, Any]:
    """One Admin API call: (status, decoded JSON body or None)."""
    import json
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Kong-Admin-Token"] = token
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    except OSError as err:
        click.echo(f"moongate: cannot reach the Admin API at {url}: {err}", err=True)
        sys.exit(1)
    return status, (json.loads(raw) if raw.strip() else None)


def _running_config(admin_url: str, token: str | None) -> dict[str, Any]:
    import yaml

    status, body = _admin("GET", admin_url.rstrip("/") + "/config", token)
    if status != 200 or not isinstance(body, dict) or "config" not in body:
        click.echo(f"moongate: GET /config answered {status}: {body}", err=True)
        sys.exit(1)
    return yaml.safe_load(body["config"]) or {}


def _plan(
    file: str, admin_url: str, token: str | None, select_tag: str | None, plugins_dirs: tuple[str, ...]
) -> Any:
    import time

    from host.admin.collections import entity_types
    from host.admin.deck import plan_sync
    from host.config import ConfigError, load_file
    from host.gateway import build_registry
    from host.store import entity_lists
    from host.store.boot import storage_lists

    setup_logging("error")
    settings = settings_from_env()
    settings.plugins_dirs = [*settings.plugins_dirs, *plugins_dirs]
    registry = build_registry(settings)
    try:
        wanted = storage_lists(load_file(Path(file), registry), stamp=int(time.time()))
    except ConfigError as err:
        for line in err.errors:
            click.echo(line, err=True)
        click.echo(f"moongate: {file}: {len(err.errors)} error(s); nothing changed", err=True)
        sys.exit(1)
    current = entity_lists(_running_config(admin_url, token))
    types = entity_types(registry)
    return plan_sync(current, wanted, types, select_tag), types


@config.command("dump")
@_ADMIN_URL
@_ADMIN_TOKEN
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def config_dump(admin_url: str, admin_token: str | None, output: str | None) -> None:
    """Export the running gateway's configuration as a declarative YAML file."""
    import yaml

    text = yaml.safe_dump(_running_config(admin_url, admin_token), sort_keys=False, allow_unicode=True)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@config.command("diff")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@_ADMIN_URL
@_ADMIN_TOKEN
@click.option("--select-tag", help="Only entities with this tag, on both sides.")
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(file_okay=False))
@click.option("--non-zero-exit-code", is_flag=True, help="Exit with 2 when there are differences.")
def config_diff(
    file: str,
    admin_url: str,
    admin_token: str | None,
    select_tag: str | None,
    plugins_dirs: tuple[str, ...],
    non_zero_exit_code: bool,
) -> None:
    """Show what `config sync FILE` would create, update and delete."""
    from host.admin.deck import describe

    plan, types = _plan(file, admin_url, admin_token, select_tag, plugins_dirs)
    for line in describe(plan, types):
        click.echo(line)
    if non_zero_exit_code and plan.changes:
        sys.exit(2)


@config.command("sync")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@_ADMIN_URL
@_ADMIN_TOKEN
@click.option("--select-tag", help="Only entities with this tag, on both sides; the others are kept.")
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(file_okay=False))
def config_sync(
    file: str, admin_url: str, admin_token: str | None, select_tag: str | None, plugins_dirs: tuple[str, ...]
) -> None:
    """Make the running gateway hold exactly FILE: creates, updates and deletes (decK's sync).

    The new configuration is sent whole with POST /config, so it is validated and
    applied atomically (in DB-less and SQLite modes alike).
    """
    import json

    from host.admin.deck import describe
    from host.store import document

    plan, types = _plan(file, admin_url, admin_token, select_tag, plugins_dirs)
    for line in describe(plan, types):
        click.echo(line)
    if not plan.changes:
        return
    body = json.dumps(document(plan.target)).encode()
    status, answer = _admin("POST", admin_url.rstrip("/") + "/config", admin_token, body)
    if status != 201:
        click.echo(f"moongate: POST /config answered {status}: {answer}", err=True)
        sys.exit(1)
