"""The ``moongate`` command line: start, config validate, plugins list, demo-upstream.

Logs go to stderr as structured lines; machine output (JSON, tables) to stdout.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import click

from host.logs import KONG_LEVELS, setup_logging
from host.settings import Settings

__all__ = ["main"]


def _settings(**overrides: object) -> Settings:
    return Settings.from_env(**overrides)


@click.group()
@click.version_option(package_name="moongate")
def main() -> None:
    """Moongate: a Kong-compatible API gateway."""


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

    settings = _settings(
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

    _run(run())


def _run(coro: object) -> None:
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(coro)  # type: ignore[arg-type]


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
    settings = _settings()
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
    settings = _settings()
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


@main.command("demo-upstream")
@click.option("--listen", default="127.0.0.1:9000", show_default=True)
def demo_upstream(listen: str) -> None:
    """Run the echo upstream used by the demo config and the tests."""
    from host.demo_upstream import serve
    from host.settings import parse_listen

    host, port = parse_listen(listen)
    serve(host, port)


if __name__ == "__main__":
    main()
