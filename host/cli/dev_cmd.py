"""``moongate dev``: one gateway process for plugin development, reloading on every edit.

Like ``moongate start --workers 1``, plus :class:`host.devreload.DevReloader`: edits to
the plugin directories' ``.lua``/``.py`` files and to the declarative file are applied
without a restart and without dropping requests; a plugin that no longer loads after
an edit is reported as ``file:line: message`` on stderr while its previous version keeps
serving.  No Admin API; the status listener is on as in ``start``.  ``moongate start
--reload`` runs the same loop (:func:`run_dev`) with ``start``'s other options.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TYPE_CHECKING

import click

from host.cli import main, settings_from_env
from host.logs import KONG_LEVELS, setup_logging

if TYPE_CHECKING:
    from host.gateway import Gateway
    from host.settings import Settings

__all__ = ["dev", "run_dev"]


@main.command()
@click.option(
    "-c", "--conf", "config_file", type=click.Path(dir_okay=False), help="Declarative config (kong.yml)."
)
@click.option(
    "--plugins-dir",
    "plugins_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Plugin directory to load and watch (repeatable).",
)
@click.option("--proxy-listen", help="Proxy listener (default 0.0.0.0:8000).")
@click.option("--status-listen", help="HOST:PORT of the status listener, or 'off' (default 127.0.0.1:8007).")
@click.option("--log-level", type=click.Choice(list(KONG_LEVELS)), default="info", show_default=True)
@click.option("--trace-plugins", is_flag=True, help="Log every plugin handler call.")
def dev(
    config_file: str | None,
    plugins_dirs: tuple[str, ...],
    proxy_listen: str | None,
    status_listen: str | None,
    log_level: str,
    trace_plugins: bool,
) -> None:
    """Run the gateway and reload plugins and the declarative file whenever they change."""
    settings = settings_from_env(
        proxy_listen=proxy_listen,
        status_listen=status_listen,
        log_level=log_level,
        declarative_config=config_file,
        nginx_worker_processes="1",
        admin_listen="off",
    )
    settings.plugins_dirs = [*settings.plugins_dirs, *plugins_dirs]
    if trace_plugins:
        settings.trace_plugins = True
    run_dev(settings)


def run_dev(settings: Settings) -> None:
    """Serve ``settings`` in this process, reloading plugins and the declarative file on
    every edit (``moongate dev``, ``moongate start --reload``): one worker, no Admin API."""
    from host.config import ConfigError
    from host.gateway import Gateway, build_registry, read_config_or_empty

    settings.nginx_worker_processes = "1"
    settings.admin_listen = "off"
    if not settings.plugins_dirs and not settings.declarative_config:
        raise click.UsageError("nothing to watch: give --plugins-dir DIR and/or -c FILE")
    setup_logging(settings.log_level)
    registry = build_registry(settings)
    for reason in registry.failures.values():
        click.echo(f"plugin failed to load: {reason}", err=True)
    try:
        config = read_config_or_empty(settings.declarative_config, registry)
    except ConfigError as err:
        for line in err.errors:
            click.echo(line, err=True)
        click.echo(f"moongate: refusing to start: {len(err.errors)} error(s) in the configuration", err=True)
        sys.exit(1)
    except OSError as err:
        click.echo(f"moongate: cannot read config: {err}", err=True)
        sys.exit(1)
    from host.cli.start import run_event_loop

    run_event_loop(_serve(Gateway(settings, registry, config)))


async def _serve(gateway: Gateway) -> None:
    from host.devreload import DevReloader

    await gateway.start()
    reloader = DevReloader(gateway, report=lambda line: click.echo(f"moongate dev: {line}", err=True))
    reloader.start()
    click.echo("moongate dev: watching for changes (Ctrl-C to stop)", err=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if reloader.config_path:  # SIGHUP (moongate reload) reloads the file as in `start`
        hup: set[asyncio.Task[bool]] = set()

        def on_hup() -> None:
            task = loop.create_task(reloader.reload_config())
            hup.add(task)
            task.add_done_callback(hup.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hup)
    await stop.wait()
    await reloader.stop()
    await gateway.stop(grace=2.0)
