"""Tests of the bundled tcp-log plugin."""
