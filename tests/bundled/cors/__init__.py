"""Tests of the bundled cors plugin."""
