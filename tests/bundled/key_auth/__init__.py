"""Tests of the bundled key-auth plugin."""
