"""Errors raised while loading a declarative configuration."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ConfigError", "format_error"]


class ConfigError(Exception):
    """A declarative configuration is invalid.

    ``errors`` holds every problem found in the file, one full line each, e.g.
    ``kong.yml: routes[2] (name=orders): paths[0]: should start with: / (fixed path) or ~/ (regex path)``.
    Nothing of an invalid file is loaded: the whole file is rejected.
    """

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: list[str] = list(errors)
        count = len(self.errors)
        head = (
            "invalid declarative configuration"
            if count == 1
            else f"{count} errors in declarative configuration"
        )
        super().__init__(head + ":\n" + "\n".join(self.errors))


def format_error(
    source: str,
    entity_path: str | None,
    label: str | None,
    field_path: str | None,
    message: str,
) -> str:
    """One error line: ``<source>: <entity_path> (<label>): <field_path>: <message>``.

    Each part but ``source`` and ``message`` may be empty and is then left out:
    ``format_error("kong.yml", "services[0]", "name=a", "port", "expected an integer")``
    gives ``kong.yml: services[0] (name=a): port: expected an integer``.
    """
    parts = [source]
    if entity_path:
        parts.append(f"{entity_path} ({label})" if label else entity_path)
    if field_path:
        parts.append(field_path)
    parts.append(message)
    return ": ".join(parts)
