"""Test plugin: a sync log handler that runs after the slow one."""

import sys

PRIORITY = 10
VERSION = "1.0.0"


def log(kong, conf):
    sys.modules["moongate_plugins.log_first"].RECORD.append("after")
