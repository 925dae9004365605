"""``moongate dev``: plugin edits reload under load without failed requests; a broken edit is
reported with file and line while the previous version keeps serving."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import yaml

from host.config import load_file
from host.devreload import DevReloader
from host.gateway import Gateway, build_registry
from host.settings import Settings
from tests.conftest import free_port
from tests.host.authorkit._support import ENV, REPO, cli_process, lua_plugin

LUA_HANDLER = """-- sets X-Dev to a fixed value
local H = {{ PRIORITY = 1000, VERSION = "1.0.0" }}

function H:access(conf)
  kong.response.set_header("X-Dev", "{value}")
end

return H
"""
PY_PLUGIN = '''"""sets X-Py from the config and a constant"""
PRIORITY = 900
VERSION = "1.0.0"
SCHEMA = [{{"word": {{"type": "string", "default": "w"}}}}]


def access(kong, conf):
    kong.response.set_header("X-Py", conf["word"] + "-{value}")
'''


def write_config(path: Path, upstream: str, word: str) -> None:
    path.write_text(
        yaml.safe_dump(
            {
                "_format_version": "3.0",
                "services": [{"name": "s", "url": upstream, "routes": [{"name": "r", "paths": ["/"]}]}],
                "plugins": [{"name": "dev-hdr"}, {"name": "py-hdr", "config": {"word": word}}],
            }
        )
    )


class Load:
    """A steady, bounded load: ``clients`` loops, each one request at a time with a pause."""

    def __init__(self, url: str, clients: int = 4, pause: float = 0.005) -> None:
        self.url, self.clients, self.pause = url, clients, pause
        self.results: list[tuple[int, str, str]] = []
        self.failures: list[str] = []
        self._stop = asyncio.Event()

    async def _client(self, session: aiohttp.ClientSession) -> None:
        while not self._stop.is_set():
            try:
                async with session.get(self.url) as resp:
                    await resp.read()
                    self.results.append(
                        (resp.status, resp.headers.get("X-Dev", ""), resp.headers.get("X-Py", ""))
                    )
            except aiohttp.ClientError as err:
                self.failures.append(repr(err))
            await asyncio.sleep(self.pause)

    async def __aenter__(self) -> Load:
        self._session = aiohttp.ClientSession()
        self._tasks = [asyncio.create_task(self._client(self._session)) for _ in range(self.clients)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        await self._session.close()

    async def until(self, predicate, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out; last results {self.results[-3:]}")


async def test_edits_under_load(tmp_path, echo_upstream):
    plugins = tmp_path / "plugins"
    folder = lua_plugin(plugins, "dev-hdr", LUA_HANDLER.format(value="v1"))
    (plugins / "py_hdr.py").write_text(PY_PLUGIN.format(value="p1"))
    config = tmp_path / "kong.yml"
    write_config(config, echo_upstream.url, "a")
    settings = Settings(
        plugins_dirs=[str(plugins)],
        declarative_config=str(config),
        proxy_listen="127.0.0.1:0",
        status_listen="off",
        admin_listen="off",
    )
    registry = build_registry(settings)
    gateway = Gateway(settings, registry, load_file(config, registry))
    await gateway.start()
    reports: list[str] = []
    reloader = DevReloader(gateway, report=reports.append, retire_after=0.5)
    reloader.start()
    await asyncio.sleep(0.3)  # the watchers are up
    try:
        async with Load(f"http://127.0.0.1:{gateway.proxy_port}/") as load:
            await load.until(lambda: len(load.results) > 20)
            assert load.results[-1] == (200, "v1", "a-p1")

            # a good edit of the Lua plugin takes effect
            (folder / "handler.lua").write_text(LUA_HANDLER.format(value="v2"))
            await load.until(lambda: load.results[-1][1] == "v2")

            # a syntax error: reported with file and line, v2 keeps serving
            (folder / "handler.lua").write_text(
                LUA_HANDLER.format(value="v3").replace("function H:access", "function H:access(")
            )
            await load.until(lambda: any("kept the previous version of dev-hdr" in r for r in reports))
            served_before = len(load.results)
            await load.until(lambda: len(load.results) > served_before + 40)

            # a Python plugin edit and a declarative file edit
            (plugins / "py_hdr.py").write_text(PY_PLUGIN.format(value="p2"))
            await load.until(lambda: load.results[-1][2] == "a-p2")
            write_config(config, echo_upstream.url, "b")
            await load.until(lambda: load.results[-1][2] == "b-p2")
    finally:
        await reloader.stop()
        await gateway.stop(grace=1.0)

    assert load.failures == []
    assert {status for status, _dev, _py in load.results} == {200}
    assert len(load.results) > 100
    assert [r for r in reports if "handler.lua:4: " in r], reports
    after_bad_edit = load.results[served_before : served_before + 40]
    assert {dev for _s, dev, _p in after_bad_edit} == {"v2"}  # the previous version kept serving
    assert "v3" not in {dev for _s, dev, _p in load.results}
    assert (reloader.applied, reloader.refused) == (3, 1)  # the Python edit applied beside the broken one


def test_dev_command_needs_something_to_watch():
    result = cli_process("dev", timeout=60)
    assert result.returncode == 2
    assert "nothing to watch" in result.stderr


class _Watching:
    """A ``moongate`` process watching a plugin folder (Lua ``dev-hdr``, Python ``py_hdr``)
    and a declarative file, and a client reading the headers they set."""

    def __init__(self, tmp_path: Path, upstream_url: str) -> None:
        self.plugins = tmp_path / "plugins"
        self.folder = lua_plugin(self.plugins, "dev-hdr", LUA_HANDLER.format(value="v1"))
        (self.plugins / "py_hdr.py").write_text(PY_PLUGIN.format(value="p1"))
        self.config = tmp_path / "kong.yml"
        write_config(self.config, upstream_url, "a")
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None

    def run(self, *argv: object) -> subprocess.Popen[str]:
        """Start ``moongate *argv`` on this port, without a status listener."""
        listen = ["--proxy-listen", f"127.0.0.1:{self.port}", "--status-listen", "off", "--log-level", "warn"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host.cli", *map(str, argv), *listen],
            env={**ENV, "PYTHONPATH": str(REPO)},
            stderr=subprocess.PIPE,
            text=True,
        )
        return self.proc

    async def wait_for(self, session: aiohttp.ClientSession, expected: str | tuple[str, str]) -> None:
        """Until ``X-Dev`` (a str) or ``(X-Dev, X-Py)`` (a tuple) reads ``expected``."""

        async def seen() -> object:
            try:
                async with session.get(f"http://127.0.0.1:{self.port}/") as resp:
                    both = (resp.headers.get("X-Dev"), resp.headers.get("X-Py"))
            except aiohttp.ClientError:
                both = (None, None)
            return both[0] if isinstance(expected, str) else both

        deadline = time.monotonic() + 30
        while (last := await seen()) != expected:
            assert time.monotonic() < deadline, f"never saw {expected}, last {last}"
            await asyncio.sleep(0.1)

    def stop(self) -> str:
        """SIGINT; the process's stderr once it exited cleanly."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGINT)
        _out, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return err


async def test_dev_command_reloads_an_edited_plugin(tmp_path, echo_upstream):
    w = _Watching(tmp_path, echo_upstream.url)
    w.run("dev", "-c", w.config, "--plugins-dir", w.plugins)
    try:
        async with aiohttp.ClientSession() as session:
            await w.wait_for(session, "v1")
            (w.folder / "handler.lua").write_text(LUA_HANDLER.format(value="edited"))
            await w.wait_for(session, "edited")
    finally:
        err = w.stop()
    assert "moongate dev: plugins reloaded" in err


def test_start_reload_refuses_a_database():
    result = cli_process("start", "--reload", "--database", "sqlite", "--plugins-dir", ".", timeout=60)
    assert result.returncode == 1
    assert "--reload needs --database off" in result.stderr


async def test_start_reload_watches_plugins_and_the_declarative_file(tmp_path, echo_upstream):
    w = _Watching(tmp_path, echo_upstream.url)
    prefix = tmp_path / "prefix"
    proc = w.run(
        "start", "--reload", "-c", w.config, "--plugins-dir", w.plugins, "-p", prefix, "--workers", "4"
    )
    try:
        async with aiohttp.ClientSession() as session:
            await w.wait_for(session, ("v1", "a-p1"))
            assert (prefix / "moongate.pid").read_text().strip() == str(proc.pid)
            (w.folder / "handler.lua").write_text(LUA_HANDLER.format(value="edited"))
            await w.wait_for(session, ("edited", "a-p1"))
            (w.plugins / "py_hdr.py").write_text(PY_PLUGIN.format(value="p2"))
            await w.wait_for(session, ("edited", "a-p2"))
            write_config(w.config, echo_upstream.url, "b")  # the declarative file
            await w.wait_for(session, ("edited", "b-p2"))
    finally:
        err = w.stop()
    assert "moongate dev: plugins reloaded" in err
