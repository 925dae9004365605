"""``moongate start`` with Python plugins at ``isolated`` (``python -m tests.host.isolated._launch``).

``build_registry`` in host/gateway.py does not pass the isolation hook to
``discover_python_plugins`` yet (a one-line change reported with this work); this
launcher adds it, then runs the real command line, so the adversarial suite runs
isolated Python plugins in a real gateway process.
"""

from __future__ import annotations

import sys
from typing import Any

import host.gateway as gateway
from host.isolated import python_isolation
from host.settings import Settings

_discover = gateway.discover_python_plugins


def _discover_with_isolation(plugin_dirs: Any = (), *, bundled: bool = True) -> Any:
    return _discover(plugin_dirs, bundled=bundled, isolate=python_isolation(Settings.from_env()))


if __name__ == "__main__":
    gateway.discover_python_plugins = _discover_with_isolation  # type: ignore[assignment]
    from host.cli import main

    main(sys.argv[1:])
