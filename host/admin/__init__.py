"""The Kong-compatible Admin API (separate listener, ``127.0.0.1:8001`` by default).

:class:`AdminServer` is what a :class:`~host.gateway.Gateway` started with a store
runs: the Admin API application (:mod:`host.admin.app`), over a
:class:`~host.admin.state.ConfigState` that validates writes with the declarative
loader, commits them to the store (:mod:`host.store`) and applies them, and a
poller that applies other workers' writes.  See ``sdk-docs/admin-api.md``.
"""

from __future__ import annotations

from host.admin.app import AdminServer, build_app
from host.admin.security import AdminListenError, check_listen
from host.admin.state import ConfigState

__all__ = ["AdminServer", "AdminListenError", "ConfigState", "build_app", "check_listen"]
