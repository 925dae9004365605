"""The bundled plugins' pages: current, one per plugin, and their examples work."""

from __future__ import annotations

import pytest

from host.config import load_data
from host.gateway import build_registry
from host.plugin_docs import PLUGIN_PAGES_DIR, bundled_doc, check_plugin_pages, render_plugin_pages
from host.settings import Settings
from tests.bundled.docs import example_config

REGISTRY = build_registry(Settings(plugins_dirs=[]))
BUNDLED = sorted(
    spec.name for spec in REGISTRY if "/lua_plugins/" in spec.source or "/py_plugins/" in spec.source
)


def test_committed_pages_are_current():
    assert check_plugin_pages(PLUGIN_PAGES_DIR) == []


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_plugin_has_a_page(name):
    spec = next(s for s in REGISTRY if s.name == name)
    assert bundled_doc(spec) is not None, f"{name}: write doc.md next to its handler"
    page = render_plugin_pages(REGISTRY)[f"{name}.md"]
    assert page.splitlines()[1] == f"# {name}"
    assert "## Example" in page and "## Configuration reference" in page


@pytest.mark.parametrize("name", BUNDLED)
def test_example_config_is_valid(name):
    config = load_data(example_config(name), REGISTRY, source=f"{name}/doc.md")
    assert any(p["name"] == name for p in config.plugins)


def test_reference_lists_nested_fields_with_defaults():
    page = render_plugin_pages(REGISTRY)["pre-function.md"]
    assert "| `config.access` | array of string |  | `[]` |" in page
    assert "**Priority:** 1000000" in page


async def test_pre_function_example(make_gateway, echo_upstream, http):
    gw = await make_gateway(example_config("pre-function", echo_upstream.url), plugins_dirs=[])
    async with http.get(gw.url + "/demo") as resp:
        assert resp.status == 400
        assert await resp.json() == {"message": "X-Tenant is required"}
    async with http.get(gw.url + "/demo", headers={"X-Tenant": "acme"}) as resp:
        assert resp.status == 200
        assert (await resp.json())["headers"]["x-tenant-checked"] == "acme"


async def test_post_function_example(make_gateway, echo_upstream, http):
    gw = await make_gateway(example_config("post-function", echo_upstream.url), plugins_dirs=[])
    async with http.get(gw.url + "/demo") as resp:
        assert resp.status == 200
        assert resp.headers["x-upstream-status"] == "200"
