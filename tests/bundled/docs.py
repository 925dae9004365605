"""The examples of the bundled plugins' pages, for the tests that run them.

Each bundled plugin folder has a hand-written ``doc.md`` whose ``## Example`` section
holds one ```` ```yaml ```` declarative config; ``sdk-docs/plugins/<name>.md`` is
generated from it (``make docs``), so a test that runs the example runs the page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["doc_path", "example_config", "example_block"]

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def doc_path(name: str) -> Path:
    """The ``doc.md`` of bundled plugin ``name`` (Lua folder or Python package)."""
    for candidate in (
        ROOT / "lua_plugins" / name / "doc.md",
        ROOT / "py_plugins" / name.replace("-", "_") / "doc.md",
    ):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no doc.md for bundled plugin {name!r}")


def example_block(name: str, lang: str = "yaml") -> str:
    """The first ```` ```<lang> ```` block under ``## Example`` in the plugin's doc.md."""
    text = doc_path(name).read_text()
    _, found, section = text.partition("## Example")
    if not found:
        raise AssertionError(f"{doc_path(name)}: no '## Example' section")
    section = re.split(r"\n## ", section, maxsplit=1)[0]
    for block_lang, body in _BLOCK.findall(section):
        if block_lang == lang:
            return body
    raise AssertionError(f"{doc_path(name)}: no ```{lang} block under '## Example'")


def example_config(name: str, upstream_url: str | None = None) -> dict[str, Any]:
    """The example's declarative config; with ``upstream_url``, every service ``url`` points there."""
    config = yaml.safe_load(example_block(name))
    if upstream_url is not None:
        for svc in config.get("services", []):
            if "url" in svc:
                svc["url"] = upstream_url
    return config
