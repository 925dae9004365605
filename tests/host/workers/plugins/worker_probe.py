"""Test plugin: says which worker answered, with which config, and how often ``configure`` ran.

Response headers: ``X-Worker-Pid`` (the worker process), ``X-Config`` (``conf.tag``: which
declarative file the request ran with), ``X-Configured`` (``configure`` calls in this worker),
``X-Multiproc-Dir`` (the worker's ``PROMETHEUS_MULTIPROC_DIR``, ``-`` when unset).
"""

import os

PRIORITY = 900
VERSION = "1.0.0"
SCHEMA = [{"tag": {"type": "string", "required": True}}]

_configured = [0]


def configure(kong, configs):
    _configured[0] += 1


def access(kong, conf):
    kong.response.set_header("X-Worker-Pid", str(os.getpid()))
    kong.response.set_header("X-Config", conf["tag"])
    kong.response.set_header("X-Configured", str(_configured[0]))
    kong.response.set_header("X-Multiproc-Dir", os.environ.get("PROMETHEUS_MULTIPROC_DIR", "-"))
