"""Tests of the bundled opentelemetry plugin."""
