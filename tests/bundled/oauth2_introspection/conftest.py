"""Fixtures of the oauth2-introspection tests."""

from tests.bundled.oauth2_introspection._server import idp

__all__ = ["idp"]
