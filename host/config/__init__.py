"""Declarative configuration: load a Kong ``kong.yml`` (format 3.0) into validated, flat entities."""

from __future__ import annotations

from host.config.errors import ConfigError, format_error
from host.config.loader import FIXED_TIMESTAMP, load_data, load_file, load_text
from host.config.model import CORE_ENTITIES, CREDENTIAL_ENTITIES, DeclarativeConfig

__all__ = [
    "ConfigError",
    "DeclarativeConfig",
    "CORE_ENTITIES",
    "CREDENTIAL_ENTITIES",
    "FIXED_TIMESTAMP",
    "format_error",
    "load_data",
    "load_file",
    "load_text",
]
