"""Tests of the bundled http-log plugin."""
