"""Runs the example test files of sdk-docs/testing.md (sdk-docs/examples/test_hello_world.py,
the guide's section 7 too, and sdk-docs/examples/test_more_fixtures.py).

Their test functions are collected here, so they use the fixtures of Moongate's pytest
plugin (host/testing/) exactly as the page describes; ``pythonpath = plugins`` of an
author's pytest.ini is the sys.path entry added here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.sdk_docs._support import EXAMPLES

TESTING_PAGE = EXAMPLES.parent / "testing.md"

if str(EXAMPLES / "plugins") not in sys.path:
    sys.path.append(str(EXAMPLES / "plugins"))


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"sdk_docs_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_example = _load(EXAMPLES / "test_hello_world.py")
_more = _load(EXAMPLES / "test_more_fixtures.py")

test_greeting_header = _example.test_greeting_header
test_unknown_config_field_is_refused = _example.test_unknown_config_field_is_refused
test_access_handler_alone = _example.test_access_handler_alone
test_upstream_route_and_metrics = _more.test_upstream_route_and_metrics
test_two_gateways_share_a_redis = _more.test_two_gateways_share_a_redis
test_a_gateway_process = _more.test_a_gateway_process


def _examples(module: ModuleType) -> set[str]:
    return {name for name in vars(module) if name.startswith("test_")}


def test_every_example_test_is_collected():
    mine = {name for name in globals() if name.startswith("test_")} - {
        "test_every_example_test_is_collected",
        "test_testing_page_quotes_the_second_example",
    }
    assert _examples(_example) | _examples(_more) == mine


def test_testing_page_quotes_the_second_example():
    page = TESTING_PAGE.read_text(encoding="utf-8")
    assert "```python\n" + (EXAMPLES / "test_more_fixtures.py").read_text(encoding="utf-8") + "```" in page
