"""Static checks of a Lua plugin's files, before it is loaded.

- syntax: every ``*.lua`` file is compiled (not run) by LuaJIT; errors carry file:line;
- phases: a handler method whose name is close to a phase (``Handler:acess``) is a typo
  Kong would silently ignore: the method never runs;
- requires: each ``require "x"`` is resolved the way the host resolves it (the plugin's
  own ``kong.plugins.<name>.*`` files, the host modules, LuaJIT built-ins); a module
  Moongate does not provide is reported with its line.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from host.authorkit.metadata import Problem
from host.lua.runtime import LuaHost
from pdk.phases import PLUGIN_PHASES

__all__ = ["syntax_problems", "phase_problems", "require_problems", "host_modules", "line_of"]

HOST_MODULES_DIR = Path(__file__).resolve().parent.parent / "lua" / "lua" / "modules"
#: LuaJIT modules a plugin may require (host/lua/lua/core.lua BUILTIN_MODULES)
BUILTIN_MODULES = frozenset({"table.new", "table.clear", "string.buffer", "bit"})
#: Kong phases of the stream subsystem, which Moongate does not run
STREAM_PHASES = frozenset({"preread"})
_REQUIRE = re.compile(r"""\brequire\s*\(?\s*(["'])([^"']+)\1""")
_METHOD = re.compile(r"^\s*function\s+([A-Za-z_]\w*)\s*[:.]\s*([A-Za-z_]\w*)\s*\(")
_ASSIGNED = re.compile(r"^\s*([A-Za-z_]\w*)\s*\.\s*([A-Za-z_]\w*)\s*=\s*function\b")
_LUA_LOCATION = re.compile(r"(?:^|[\s\[\"'])@?([^\s:\"'\[\]]+\.lua)\"?\]?:(\d+):\s*")
_CHECK_SYNTAX = "return function(src, name) local f, err = load(src, name, 't', {}) return err end"


def host_modules() -> frozenset[str]:
    """The module names ``require`` resolves to host modules (plus LuaJIT built-ins)."""
    names = {p.name[: -len(".lua")] for p in HOST_MODULES_DIR.glob("*.lua")}
    return frozenset(names | BUILTIN_MODULES)


def split_location(text: str) -> tuple[str | None, int | None, str]:
    """(file, line, rest) of a Lua error message of the form ``path:line: message``."""
    match = _LUA_LOCATION.search(text)
    if match is None:
        return None, None, text
    return match[1], int(match[2]), text[match.end() :]


def syntax_problems(host: LuaHost, files: list[Path]) -> list[Problem]:
    """Compile (without running) each file; one problem per file that does not compile."""
    check = host.compile(_CHECK_SYNTAX)()
    problems = []
    for path in files:
        err = check(path.read_bytes(), f"@{path}".encode())
        if err is None:
            continue
        text = err.decode("utf-8", "replace")
        _file, line, rest = split_location(text)
        problems.append(Problem(str(path), f"syntax error: {rest}", line))
    return problems


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of each line, with ``--`` comments dropped (long ones too)."""
    out = []
    in_block = False
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if in_block:
            if "]]" in line:
                in_block = False
                line = line.split("]]", 1)[1]
            else:
                continue
        if "--[[" in line:
            before, after = line.split("--[[", 1)
            in_block = "]]" not in after
            line = before
        out.append((number, line.split("--", 1)[0]))
    return out


def phase_problems(handler_file: Path) -> list[Problem]:
    """Handler methods named like a misspelled phase, and stream-only phases."""
    problems = []
    for number, line in _code_lines(handler_file):
        match = _METHOD.match(line) or _ASSIGNED.match(line)
        if match is None:
            continue
        method = match[2]
        if method in PLUGIN_PHASES or method.isupper():
            continue
        if method in STREAM_PHASES:
            problems.append(
                Problem(
                    str(handler_file),
                    f"phase '{method}' (Kong's stream subsystem) never runs in Moongate",
                    number,
                )
            )
            continue
        close = difflib.get_close_matches(method, PLUGIN_PHASES, n=1, cutoff=0.8)
        if close:
            problems.append(
                Problem(
                    str(handler_file),
                    f"unknown phase '{method}' (did you mean '{close[0]}'?): it would never run; "
                    f"phases: {', '.join(PLUGIN_PHASES)}",
                    number,
                )
            )
    return problems


def require_problems(name: str, folder: Path, files: list[Path]) -> list[Problem]:
    """``require`` calls of modules neither the plugin nor the host provides."""
    provided = host_modules()
    own = f"kong.plugins.{name}."
    problems = []
    for path in files:
        for number, line in _code_lines(path):
            for match in _REQUIRE.finditer(line):
                module = match[2]
                if module.startswith(own):
                    relative = module[len(own) :].replace(".", "/")
                    if (
                        not (folder / f"{relative}.lua").is_file()
                        and not (folder / relative / "init.lua").is_file()
                    ):
                        problems.append(
                            Problem(
                                str(path), f"require '{module}': no file {relative}.lua in {folder}", number
                            )
                        )
                elif module.startswith("kong.plugins.") and module.count(".") >= 3:
                    other = module.split(".")[2]
                    problems.append(
                        Problem(
                            str(path),
                            f"require '{module}': a module of plugin '{other}', which must be installed too",
                            number,
                        )
                    )
                elif module not in provided:
                    problems.append(
                        Problem(
                            str(path),
                            f"require '{module}': module not found: Moongate does not provide it",
                            number,
                        )
                    )
    return problems


def line_of(path: Path, pattern: str) -> int | None:
    """The first line of ``path`` matching the regex ``pattern`` (comments ignored)."""
    regex = re.compile(pattern)
    try:
        lines = _code_lines(path) if path.suffix == ".lua" else enumerate(path.read_text().splitlines(), 1)
    except OSError:
        return None
    for number, line in lines:
        if regex.search(line):
            return number
    return None
