"""The ``moongate`` command line.

One module per command group, each registering itself on :data:`main`:
``start`` (host/cli/start.py), ``reload`` (reload_cmd.py), ``config`` (config_cmd.py), ``plugins`` (plugins_cmd.py),
``plugin`` (plugin_cmd.py), ``market`` (market_cmd.py), ``dev`` (dev_cmd.py) and ``demo-upstream`` (demo.py).  Logs go to stderr as structured lines; machine
output (JSON, tables) to stdout.
"""

from __future__ import annotations

import click

from host.plugins.host_hooks import ExtensibleGroup
from host.settings import Settings

__all__ = ["main", "settings_from_env"]


def settings_from_env(**overrides: object) -> Settings:
    """Settings from ``MOONGATE_*``/``KONG_*`` environment variables plus CLI overrides."""
    return Settings.from_env(**overrides)


# ExtensibleGroup: plugins add commands through the register_commands host hook
@click.group(cls=ExtensibleGroup)
@click.version_option(package_name="moongate")
def main() -> None:
    """Moongate: a Kong-compatible API gateway."""


# the command modules register on `main`; imported last because they import it
from host.cli import config_cmd, demo, dev_cmd, market_cmd, plugin_cmd, plugins_cmd, reload_cmd, start  # noqa: E402, F401
