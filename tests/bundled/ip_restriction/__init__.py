"""Tests of the bundled ip-restriction plugin."""
