"""Tests of the bundled oauth2-introspection plugin (py_plugins/oauth2_introspection)."""
