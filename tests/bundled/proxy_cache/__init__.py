"""Tests of the bundled proxy-cache plugin."""
