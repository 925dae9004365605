"""``moongate reload``: have the running gateway reload its declarative file (SIGHUP).

The gateway started with the same prefix wrote its pid to ``<prefix>/moongate.pid``;
this command sends that process SIGHUP.  The gateway validates the file, swaps in the
new configuration without dropping a request, and refuses a bad file (its log says
which errors; the running configuration keeps serving).
"""

from __future__ import annotations

import os
import signal
import sys

import click

from host.cli import main, settings_from_env

__all__ = ["reload"]


@main.command()
@click.option(
    "-p", "--prefix", help="The prefix the gateway was started with (default .moongate, or KONG_PREFIX)."
)
def reload(prefix: str | None) -> None:
    """Reload the running gateway's declarative file (sends it SIGHUP)."""
    from host.workers.control import PID_FILE, GatewayNotRunning, read_pid

    settings = settings_from_env(prefix=prefix)
    try:
        pid = read_pid(settings.prefix)
        os.kill(pid, signal.SIGHUP)
    except GatewayNotRunning as err:
        click.echo(f"moongate reload: {err}", err=True)
        sys.exit(1)
    except PermissionError:
        click.echo(
            f"moongate reload: not allowed to signal pid {pid} ({settings.prefix}/{PID_FILE})", err=True
        )
        sys.exit(1)
    click.echo(f"reload signalled to the gateway (pid {pid})")
