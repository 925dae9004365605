"""Tests of the bundled bot-detection plugin."""
