"""Tests of the bundled prometheus plugin."""
