"""kong.configuration: the gateway settings, read-only (Kong's ``kong.conf`` view).

Sensitive settings are never shown to plugin code, from Python or from Lua: they read
as ``None`` / ``nil`` as if unset (Kong shows them and only masks them in
``remove_sensitive()``; Moongate keeps them out of plugins' reach altogether).  A
setting is sensitive when Kong lists it as such (``CONF_SENSITIVE`` in Kong's
conf_loader: database passwords, the proxy server URL, the declarative config string,
every certificate's private key), when Moongate's settings module does
(``SENSITIVE_SETTINGS``: the admin token, ...), or when its name says so (it ends in
``password``, ``passwd``, ``secret``, ``token`` or ``key``), so a setting added later
is hidden by default.

``enabled_headers`` and ``enabled_headers_upstream`` are derived as Kong's conf_loader
derives them: a map of each header name Kong knows to whether the ``headers`` (or
``headers_upstream``) setting turns it on; ``server_tokens`` turns on ``Via`` and
``Server``, ``latency_tokens`` the four ``X-Kong-*-Latency`` headers, and ``off`` as the
first token leaves all of them off.

Lists are returned as tuples.  A setting that does not exist reads as ``None``, as a
missing key reads as ``nil`` in Lua; writing anything raises ``cannot write to
configuration``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import fields
from typing import Any

from pdk import _settings
from pdk.errors import PDKError

__all__ = ["Configuration", "is_sensitive", "SENSITIVE_PLACEHOLDER"]

WRITE_ERROR = "cannot write to configuration"
#: what ``remove_sensitive()`` shows for a sensitive setting that has a value (Kong's)
SENSITIVE_PLACEHOLDER = "******"
#: Kong's CONF_SENSITIVE, plus Moongate's names for the same kinds of secrets
_KONG_SENSITIVE = frozenset(
    {
        "pg_password",
        "pg_ro_password",
        "proxy_server",
        "declarative_config_string",
        "cluster_cert_key",
        "ssl_cert_key",
        "client_ssl_cert_key",
        "admin_ssl_cert_key",
        "admin_gui_ssl_cert_key",
        "status_ssl_cert_key",
        "debug_ssl_cert_key",
        "admin_token",
        "redis_password",
    }
)
_SENSITIVE_NAME = re.compile(r"(?:^|_)(?:password|passwd|secret|token|key)$")

_LATENCY = (
    "X-Kong-Proxy-Latency",
    "X-Kong-Response-Latency",
    "X-Kong-Admin-Latency",
    "X-Kong-Upstream-Latency",
)
#: the tokens of ``headers`` (lower-case) -> the names in ``enabled_headers`` (Kong's HEADER_KEY_TO_NAME)
HEADER_KEY_TO_NAME = {
    "server_tokens": "server_tokens",
    "latency_tokens": "latency_tokens",
    **{
        name.lower(): name
        for name in ("Via", "Server", *_LATENCY, "X-Kong-Upstream-Status", "X-Kong-Request-Id")
    },
}
#: the same for ``headers_upstream``
UPSTREAM_HEADER_KEY_TO_NAME = {"x-kong-request-id": "X-Kong-Request-Id"}


def is_sensitive(name: str) -> bool:
    """Whether the setting ``name`` is kept from plugin code."""
    from host.settings import SENSITIVE_SETTINGS

    return name in _KONG_SENSITIVE or name in SENSITIVE_SETTINGS or bool(_SENSITIVE_NAME.search(name))


def enabled_headers(tokens: Any, names: Mapping[str, str]) -> dict[str, bool]:
    """Header name -> on/off from the tokens of a ``headers`` setting (Kong's derivation)."""
    enabled = dict.fromkeys(names.values(), False)
    tokens = list(tokens or ())
    if tokens and tokens[0] != "off":
        for token in tokens:
            name = names.get(str(token).lower()) if token != "off" else None
            if name is not None:
                enabled[name] = True
    if enabled.get("server_tokens"):
        enabled["Via"] = enabled["Server"] = True
    if enabled.get("latency_tokens"):
        enabled.update(dict.fromkeys(_LATENCY, True))
    return enabled


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


class Configuration(Mapping[str, Any]):
    """A read-only mapping (and attribute view) over ``Settings.public_view()``.

    It follows the settings installed with :func:`pdk._settings.set_default_settings`.
    """

    __slots__ = ("_source", "_data")

    def __init__(self) -> None:
        object.__setattr__(self, "_source", None)
        object.__setattr__(self, "_data", {})

    def _view(self) -> dict[str, Any]:
        settings = _settings.default_settings()
        if settings is not self._source:
            data = {k: _frozen(v) for k, v in settings.public_view().items() if not is_sensitive(k)}
            data["enabled_headers"] = enabled_headers(data.get("headers"), HEADER_KEY_TO_NAME)
            data["enabled_headers_upstream"] = enabled_headers(
                data.get("headers_upstream"), UPSTREAM_HEADER_KEY_TO_NAME
            )
            object.__setattr__(self, "_data", data)
            object.__setattr__(self, "_source", settings)
        return self._data

    def __getitem__(self, name: str) -> Any:
        return self._view()[name]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._view().get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._view())

    def __len__(self) -> int:
        return len(self._view())

    def __setattr__(self, name: str, value: Any) -> None:
        raise PDKError(WRITE_ERROR)

    def __setitem__(self, name: str, value: Any) -> None:
        raise PDKError(WRITE_ERROR)

    def __delattr__(self, name: str) -> None:
        raise PDKError(WRITE_ERROR)

    def __delitem__(self, name: str) -> None:
        raise PDKError(WRITE_ERROR)

    def remove_sensitive(self) -> dict[str, Any]:
        """A plain dict copy of the settings, with ``"******"`` for each sensitive one
        that has a value (Kong's ``kong.configuration.remove_sensitive()``)."""
        data = dict(self._view())
        settings = _settings.default_settings()
        for f in fields(settings):
            if is_sensitive(f.name) and getattr(settings, f.name, None):
                data[f.name] = SENSITIVE_PLACEHOLDER
        return data

    def __repr__(self) -> str:
        return "<kong.configuration>"
