"""``kong_pdk.cli``: plugins call ``start_dedicated_server`` only under ``__main__``."""

import sys


def start_dedicated_server(name, plugin, version=None, priority=0, schema=None):  # noqa: ANN001, ANN201
    """Moongate runs kong-python-pdk plugins in-process: there is no plugin server to start."""
    sys.exit(
        f"{name}: Moongate runs kong-python-pdk plugins in-process; put this file in a plugins "
        "directory (moongate start --plugins-dir DIR) instead of running it"
    )
