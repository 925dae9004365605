"""sdk-docs/operations.md: its command examples and its /status example match the real thing."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from host.cli import main

DOC = Path(__file__).resolve().parents[3] / "sdk-docs" / "operations.md"
TEXT = DOC.read_text()
#: ```console blocks: the `$ moongate ...` line, then what it prints
COMMANDS = re.findall(r"```console\n\$ (moongate [^\n]*)\n(.*?)```", TEXT, re.S)
#: help texts shown as excerpts (other options exist besides the ones the page is about)
EXCERPTS = {"moongate start --help"}


def _run(command: str) -> tuple[int, str]:
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(main, args, prog_name="moongate", terminal_width=80)
    return result.exit_code, result.output


def test_the_page_has_its_examples():
    assert {c for c, _ in COMMANDS} == {
        "moongate start --help",
        "moongate reload --help",
        "moongate reload -p /tmp/no-gateway-here",
    }


@pytest.mark.parametrize(("command", "shown"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_command_output_is_what_the_page_shows(command, shown):
    code, output = _run(command)
    if command in EXCERPTS:
        assert code == 0
        missing = [line for line in shown.splitlines() if line not in output.splitlines()]
        assert missing == [], output
    else:
        assert output == shown
        assert code == (1 if "no-gateway-here" in command else 0)


async def test_the_status_example_has_the_real_fields(make_gateway, http):
    example = json.loads(re.search(r"```json\n(.*?)```", TEXT, re.S).group(1))
    gw = await make_gateway({"_format_version": "3.0"})
    async with http.get(gw.status_url + "/status") as resp:
        real = await resp.json()
    assert list(example) == list(real)
    assert list(example["server"]) == list(real["server"])
    assert list(example["memory"]) == list(real["memory"])
    assert set(example["workers"][0]) == set(real["workers"][0])
    assert set(example["memory"]["workers_lua_vms"][0]) == set(real["memory"]["workers_lua_vms"][0])
    assert set(example["plugins"]) == set(real["plugins"])
