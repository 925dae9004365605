"""Tests of the bundled jwt plugin (py_plugins/jwt)."""
