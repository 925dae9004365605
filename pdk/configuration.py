"""kong.configuration: the gateway settings, read-only (Kong's ``kong.conf`` view).

Sensitive settings (passwords, tokens, private keys) are never shown.  Lists are
returned as tuples.  A setting that does not exist reads as ``None``, as a missing
key reads as ``nil`` in Lua; writing anything raises ``cannot write to configuration``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pdk import _settings
from pdk.errors import PDKError

__all__ = ["Configuration"]

WRITE_ERROR = "cannot write to configuration"


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
            data = {k: _frozen(v) for k, v in settings.public_view().items()}
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
        """A plain dict copy of the settings without sensitive values (all shown ones are safe)."""
        return dict(self._view())

    def __repr__(self) -> str:
        return "<kong.configuration>"
