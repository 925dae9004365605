"""Helpers of the author-kit tests: the CLI run in-process, scaffolded projects, plugin files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from host.cli import main

REPO = Path(__file__).resolve().parents[3]
#: settings from the environment would change what the commands do
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "MOONGATE_"))}


def cli(*args: str | Path) -> Result:
    """``moongate ARGS`` in this process; ``.exit_code``, ``.stdout``, ``.stderr``."""
    return CliRunner().invoke(main, [str(a) for a in args])


def cli_process(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
):
    """``moongate ARGS`` as a real process (``python -m host.cli``)."""
    return subprocess.run(
        [sys.executable, "-m", "host.cli", *map(str, args)],
        cwd=cwd,
        env={**ENV, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def new_plugin(parent: Path, name: str, language: str) -> Path:
    """``moongate plugin new NAME --lang LANGUAGE --dir PARENT``; the project root."""
    result = cli("plugin", "new", name, "--lang", language, "--dir", parent)
    assert result.exit_code == 0, result.output
    return parent / name


def lua_plugin(root: Path, name: str, handler: str, schema: str | None = None) -> Path:
    """Write ``root/kong/plugins/NAME/{handler,schema}.lua``; the plugin folder."""
    folder = root / "kong" / "plugins" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "handler.lua").write_text(handler)
    (folder / "schema.lua").write_text(
        schema
        or f'return {{ name = "{name}", fields = {{ {{ config = {{ type = "record", fields = {{}} }} }} }} }}\n'
    )
    return folder


def set_version(project: Path, old: str, new: str) -> None:
    """Change the version everywhere a scaffolded project states it."""
    for path in project.rglob("*"):
        if path.is_file() and path.suffix in (".lua", ".py", ".yaml", ".toml"):
            text = path.read_text()
            path.write_text(text.replace(f'"{old}"', f'"{new}"'))
