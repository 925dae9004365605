"""``moongate market ...``: a marketplace repository's ``index.json``.

``index DIR`` validates every package in a marketplace repository and writes its index;
``list`` and ``search`` read an index from a file or a URL (``--index``, default the
``MOONGATE_MARKET_INDEX`` environment variable, else ``./index.json``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from host.cli import main
from host.logs import setup_logging

__all__ = ["market"]

_INDEX_HELP = "Index file or URL (default $MOONGATE_MARKET_INDEX, else ./index.json)."


@main.group()
def market() -> None:
    """Build and read a plugin marketplace index."""


@market.command("index")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def market_index(directory: str) -> None:
    """Validate every plugin package in DIRECTORY and write DIRECTORY/index.json."""
    from host.authorkit.market import INDEX_FILE, IndexError_, build_index

    setup_logging("crit")
    try:
        index = build_index(directory)
    except IndexError_ as err:
        for problem in err.problems:
            click.echo(problem, err=True)
        click.echo(f"moongate: {INDEX_FILE} not written: {len(err.problems)} problem(s)", err=True)
        sys.exit(1)
    names = sorted({e["name"] for e in index["plugins"]})
    click.echo(
        f"wrote {os.path.join(directory, INDEX_FILE)}: {len(index['plugins'])} package(s) of {len(names)} plugin(s)"
    )


def _read(location: str | None) -> dict[str, Any]:
    from host.authorkit.market import IndexError_, load_index

    try:
        return load_index(location or os.environ.get("MOONGATE_MARKET_INDEX") or "index.json")
    except IndexError_ as err:
        for problem in err.problems:
            click.echo(problem, err=True)
        sys.exit(1)


def _print(entries: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([{k: v for k, v in e.items() if k != "schema"} for e in entries], indent=2))
        return
    rows = [("NAME", "VERSION", "LANGUAGE", "COMPATIBLE", "DESCRIPTION")]
    rows += [
        (
            e["name"],
            e["version"],
            e["language"],
            "yes" if e.get("compatible") else "no",
            e.get("description", ""),
        )
        for e in entries
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join([*(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)), row[4]]).rstrip())


@market.command("list")
@click.option("--index", "location", help=_INDEX_HELP)
@click.option("--json", "as_json", is_flag=True)
def market_list(location: str | None, as_json: bool) -> None:
    """The newest version of every plugin in the index."""
    from host.authorkit.market import latest

    _print(latest(_read(location)), as_json)


@market.command("search")
@click.argument("term")
@click.option("--index", "location", help=_INDEX_HELP)
@click.option("--json", "as_json", is_flag=True)
def market_search(term: str, location: str | None, as_json: bool) -> None:
    """Plugins whose name, description, categories or publisher contain TERM."""
    from host.authorkit.market import search

    found = search(_read(location), term)
    if not found:
        click.echo(f"no plugin matches {term!r}", err=True)
        sys.exit(1)
    _print(found, as_json)
