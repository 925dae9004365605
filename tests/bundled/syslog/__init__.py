"""Tests of the bundled syslog plugin."""
