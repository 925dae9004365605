"""Tests of the bundled file-log plugin."""
