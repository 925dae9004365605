"""``moongate start``: run the gateway until SIGTERM/SIGINT; SIGHUP reloads the config file.

One worker (``--workers 1``) runs in this process; more run under a supervisor that forks
them (host/workers/).  Either way the process writes its pid to ``<prefix>/moongate.pid``
for ``moongate reload``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from host.cli import main, settings_from_env
from host.logs import KONG_LEVELS, setup_logging

__all__ = ["start", "run_event_loop"]


@main.command()
@click.option(
    "-c", "--conf", "config_file", type=click.Path(dir_okay=False), help="Declarative config (kong.yml)."
)
@click.option(
    "--proxy-listen",
    "proxy_listen",
    multiple=True,
    help="Proxy listener(s), Kong's syntax: 'HOST:PORT [ssl] [http2] [backlog=N]', comma-separated "
    "or repeated; 'off' for none (default 0.0.0.0:8000).",
)
@click.option("--status-listen", help="HOST:PORT of the status listener, or 'off' (default 127.0.0.1:8007).")
@click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Extra plugin directory (repeatable).",
)
@click.option("--log-level", type=click.Choice(list(KONG_LEVELS)), help="Log level (default notice).")
@click.option("--trusted-ips", help="Comma-separated IPs/CIDRs whose X-Forwarded-* headers are trusted.")
@click.option(
    "--workers",
    help="Worker processes (nginx_worker_processes): a number, or 'auto' for one per usable core "
    "(default auto). With more than one, a supervisor forks them and restarts any that dies.",
)
@click.option(
    "--watch", is_flag=True, help="Reload the declarative file (-c) whenever it changes, as SIGHUP does."
)
@click.option(
    "--reload",
    "reload_",
    is_flag=True,
    help="Development: reload plugin files and the declarative file on every edit, as "
    "`moongate dev` does (one worker, no Admin API).",
)
@click.option(
    "--database",
    type=click.Choice(["off", "sqlite"]),
    help="Where the configuration lives: off (DB-less: the -c file, POST /config) or sqlite "
    "(<prefix>/moongate.db; -c seeds an empty store). Default off.",
)
@click.option("--admin-listen", help="HOST:PORT of the Admin API, or 'off' (default 127.0.0.1:8001).")
@click.option(
    "--trace-plugins", is_flag=True, help="Log every plugin handler call: plugin, phase, duration, outcome."
)
@click.option("-p", "--prefix", help="Working directory: pid file, worker status, metrics (default .moongate).")
def start(
    config_file: str | None,
    proxy_listen: tuple[str, ...],
    status_listen: str | None,
    plugins_dirs: tuple[str, ...],
    log_level: str | None,
    trusted_ips: str | None,
    workers: str | None,
    watch: bool,
    trace_plugins: bool,
    prefix: str | None,
    database: str | None = None,
    admin_listen: str | None = None,
    reload_: bool = False,
) -> None:
    """Start the gateway (refuses an invalid config file, printing every error).

    SIGHUP (or `moongate reload`) reloads the declarative file; SIGTERM drains in-flight
    requests (nginx_main_worker_shutdown_timeout, default 10s) and stops.
    """
    from host.workers.control import parse_duration, prepare_prefix, resolve_workers

    settings = settings_from_env(
        proxy_listen=", ".join(proxy_listen) if proxy_listen else None,
        status_listen=status_listen,
        log_level=log_level,
        declarative_config=config_file,
        nginx_worker_processes="1" if reload_ else workers,  # --reload: one worker
        prefix=prefix,
        database=database,
        admin_listen=admin_listen,
        trace_plugins=True if trace_plugins else None,
    )
    try:
        count = resolve_workers(settings.nginx_worker_processes)
        parse_duration(settings.nginx_main_worker_shutdown_timeout)
    except ValueError as err:
        click.echo(f"moongate: {err}", err=True)
        sys.exit(1)
    if watch and not settings.declarative_config:
        click.echo("moongate: --watch needs a declarative file (-c FILE)", err=True)
        sys.exit(1)
    settings.nginx_worker_processes = str(count)  # ngx.worker.count() in every worker
    # several workers: PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client loads
    status_dir = prepare_prefix(settings.prefix)[1] if count > 1 else None

    from host.admin import AdminListenError, check_listen
    from host.config import ConfigError
    from host.gateway import Gateway, build_registry
    from host.store.boot import boot

    try:
        check_listen(settings)
    except (AdminListenError, ValueError) as err:
        click.echo(f"moongate: refusing to start: {err}", err=True)
        sys.exit(1)

    if plugins_dirs:
        settings.plugins_dirs = [*settings.plugins_dirs, *plugins_dirs]
    if trusted_ips:
        settings.set_trusted_ips([p for p in trusted_ips.split(",") if p.strip()])
    if reload_:  # `moongate dev`'s loop (host/cli/dev_cmd.py)
        _run_reloading(settings)
        return
    setup_logging(settings.log_level)
    registry = build_registry(settings)
    try:
        store, config = boot(settings, registry, settings.declarative_config)
    except ConfigError as err:
        for line in err.errors:
            click.echo(line, err=True)
        click.echo(f"moongate: refusing to start: {len(err.errors)} error(s) in the configuration", err=True)
        sys.exit(1)
    except OSError as err:
        click.echo(f"moongate: cannot read config: {err}", err=True)
        sys.exit(1)

    from host.workers.control import pid_file

    try:
        with pid_file(settings.prefix):
            if status_dir is None:  # one worker: this process (the benchmark's "moongate" row)
                from host.workers.serve import serve

                run_event_loop(serve(Gateway(settings, registry, config, store=store), watch=watch))
                return
            from host.workers.supervisor import Supervisor

            supervisor = Supervisor(
                settings, registry, config, workers=count, status_dir=status_dir, watch=watch, store=store
            )
            code = supervisor.run()
    except (OSError, ValueError) as err:
        click.echo(f"moongate: {err}", err=True)
        sys.exit(1)
    sys.exit(code)


def _run_reloading(settings: Any) -> None:
    """``start --reload``: one worker reloading on edits; DB-less only (the file is the truth)."""
    from host.cli.dev_cmd import run_dev
    from host.workers.control import pid_file

    if settings.database not in (None, "off"):
        click.echo("moongate: --reload needs --database off (the declarative file is reloaded)", err=True)
        sys.exit(1)
    with pid_file(settings.prefix):
        run_dev(settings)


def run_event_loop(coro: object) -> None:
    """Run ``coro`` on uvloop (asyncio's loop where uvloop is missing)."""
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(coro)  # type: ignore[arg-type]
