"""``moongate start``: run the gateway until SIGTERM/SIGINT; SIGHUP reloads the config file."""

from __future__ import annotations

import asyncio
import signal
import sys

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
def start(
    config_file: str | None,
    proxy_listen: tuple[str, ...],
    status_listen: str | None,
    plugins_dirs: tuple[str, ...],
    log_level: str | None,
    trusted_ips: str | None,
) -> None:
    """Start the gateway (refuses an invalid config file, printing every error)."""
    from host.config import ConfigError
    from host.gateway import Gateway, build_registry, read_config_or_empty

    settings = settings_from_env(
        proxy_listen=", ".join(proxy_listen) if proxy_listen else None,
        status_listen=status_listen,
        log_level=log_level,
        declarative_config=config_file,
    )
    if plugins_dirs:
        settings.plugins_dirs = [*settings.plugins_dirs, *plugins_dirs]
    if trusted_ips:
        settings.set_trusted_ips([p for p in trusted_ips.split(",") if p.strip()])
    setup_logging(settings.log_level)
    registry = build_registry(settings)
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

    async def run() -> None:
        gateway = Gateway(settings, registry, config)
        await gateway.start()
        gateway.tune_gc()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        reloads: set[asyncio.Task[bool]] = set()  # the loop keeps only weak references to tasks

        def reload(path: str) -> None:
            task = loop.create_task(gateway.reload_file(path))
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        if settings.declarative_config:
            loop.add_signal_handler(signal.SIGHUP, reload, settings.declarative_config)
        else:  # nothing to reload: SIGHUP must not kill the gateway
            loop.add_signal_handler(signal.SIGHUP, lambda: None)
        await stop.wait()
        await gateway.stop()

    run_event_loop(run())


def run_event_loop(coro: object) -> None:
    """Run ``coro`` on uvloop (asyncio's loop where uvloop is missing)."""
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(coro)  # type: ignore[arg-type]
