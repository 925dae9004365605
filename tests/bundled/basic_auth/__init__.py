"""Tests of the bundled basic-auth plugin."""
