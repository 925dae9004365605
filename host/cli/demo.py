"""``moongate demo-upstream``: the echo upstream of the demo and the tests."""

from __future__ import annotations

import click

from host.cli import main

__all__ = ["demo_upstream"]


@main.command("demo-upstream")
@click.option("--listen", default="127.0.0.1:9000", show_default=True)
def demo_upstream(listen: str) -> None:
    """Run the echo upstream used by the demo config and the tests."""
    from host.demo_upstream import serve
    from host.settings import parse_listen

    host, port = parse_listen(listen)
    serve(host, port)
