"""Tests of the bundled response-compression plugin."""
