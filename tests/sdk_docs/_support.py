"""Paths and helpers shared by the tests of the plugin author's guide: sdk-docs/guide.md and
its reference pages (anatomy.md, phases.md, schema.md), checked as one text."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "sdk-docs" / "guide.md"
#: the guide and the reference pages split from it: every sample on them is checked
GUIDE_PAGES = [GUIDE, *(REPO / "sdk-docs" / f"{name}.md" for name in ("anatomy", "phases", "schema"))]
EXAMPLES = REPO / "sdk-docs" / "examples"
EXAMPLES_DIR = EXAMPLES / "plugins"

_FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<lang>[a-z]*)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)


def fenced_blocks(text: str, lang: str) -> list[str]:
    """The contents of the fenced code blocks of one language, dedented like their fence."""
    return [
        textwrap.dedent(m["body"]) if m["indent"] else m["body"]
        for m in _FENCE.finditer(text)
        if m["lang"] == lang
    ]


def guide_text() -> str:
    """The guide's pages, one after the other."""
    return "\n".join(page.read_text(encoding="utf-8") for page in GUIDE_PAGES)


def example_config(name: str, upstream_url: str) -> dict[str, Any]:
    """A YAML example of the guide as a config dict, its services pointed at ``upstream_url``."""
    data = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    for service in data.get("services", []):
        service["url"] = upstream_url
    return data
