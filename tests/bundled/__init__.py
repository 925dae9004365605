"""Tests of the bundled plugins (lua_plugins/ and py_plugins/), one package per plugin."""
