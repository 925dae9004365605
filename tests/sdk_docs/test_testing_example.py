"""Runs the example test file of the guide's section 7 (sdk-docs/examples/test_hello_world.py).

Its test functions are collected here, so they use the fixtures of Moongate's pytest
plugin (host/testing/) exactly as the guide describes; ``pythonpath = plugins`` of an
author's pytest.ini is the sys.path entry added here.
"""

from __future__ import annotations

import importlib.util
import sys

from tests.sdk_docs._support import EXAMPLES

if str(EXAMPLES / "plugins") not in sys.path:
    sys.path.append(str(EXAMPLES / "plugins"))
_spec = importlib.util.spec_from_file_location("sdk_docs_example_tests", EXAMPLES / "test_hello_world.py")
assert _spec is not None and _spec.loader is not None
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)

test_greeting_header = _example.test_greeting_header
test_unknown_config_field_is_refused = _example.test_unknown_config_field_is_refused
test_access_handler_alone = _example.test_access_handler_alone


def test_every_example_test_is_collected():
    mine = {name for name in globals() if name.startswith("test_")} - {"test_every_example_test_is_collected"}
    assert {name for name in vars(_example) if name.startswith("test_")} == mine
