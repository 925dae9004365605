"""Tests of the bundled acl plugin."""
