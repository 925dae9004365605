"""The guide quotes its examples verbatim, and its links lead somewhere: it cannot drift."""

from __future__ import annotations

import re

import pytest

from tests.sdk_docs._support import EXAMPLES, EXAMPLES_DIR, GUIDE_PAGES, fenced_blocks, guide_text

PLUGIN_FILES = sorted(EXAMPLES_DIR.glob("*.py"))
PYTHON_FILES = [*PLUGIN_FILES, EXAMPLES / "test_hello_world.py"]
YAML_FILES = sorted(EXAMPLES.glob("*.yml"))
CONSOLE_FILES = sorted(EXAMPLES.glob("*.console"))


def _text(path):
    return path.read_text(encoding="utf-8")


def test_there_are_examples():
    assert len(PLUGIN_FILES) >= 8
    assert YAML_FILES and CONSOLE_FILES


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda p: p.name)
def test_python_example_is_quoted_verbatim(path):
    assert _text(path) in fenced_blocks(guide_text(), "python")


def test_every_python_block_is_an_example_file():
    files = {_text(p) for p in PYTHON_FILES}
    for block in fenced_blocks(guide_text(), "python"):
        assert block in files, f"python block not taken from sdk-docs/examples:\n{block}"


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_yaml_example_is_quoted_verbatim(path):
    assert _text(path) in fenced_blocks(guide_text(), "yaml")


def test_every_yaml_block_is_an_example_file():
    files = {_text(p) for p in YAML_FILES}
    for block in fenced_blocks(guide_text(), "yaml"):
        assert block in files, f"yaml block not taken from sdk-docs/examples:\n{block}"


def test_entry_point_snippet_is_quoted_verbatim():
    assert fenced_blocks(guide_text(), "toml") == [_text(EXAMPLES / "pyproject-entry-points.toml")]


def test_console_transcripts_are_quoted_verbatim():
    blocks = fenced_blocks(guide_text(), "console")
    assert sorted(blocks) == sorted(_text(p) for p in CONSOLE_FILES)


def test_only_tested_languages_are_fenced():
    # python/yaml/toml/console come from files; http and json are checked against real output
    langs = set(re.findall(r"^[ ]*```([a-z]+)$", guide_text(), re.M))
    assert langs <= {"python", "yaml", "toml", "console", "http", "json"}


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", markdown, re.M)}


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=lambda p: p.name)
def test_links_resolve(page):
    links = re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8"))
    assert "guide.md" in links or "pdk/index.md" in links
    for link in links:
        assert not link.startswith("http"), link
        target, _, anchor = link.partition("#")
        path = (page.parent / target) if target else page
        assert path.exists(), f"{page.name}: broken link: {link}"
        if anchor:
            assert anchor in _anchors(path.read_text(encoding="utf-8")), f"{page.name}: broken anchor: {link}"


def test_the_guide_links_its_reference_pages():
    guide = GUIDE_PAGES[0].read_text(encoding="utf-8")
    for page in GUIDE_PAGES[1:]:
        assert f"]({page.name})" in guide, page.name
