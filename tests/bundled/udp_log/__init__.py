"""Tests of the bundled udp-log plugin."""
