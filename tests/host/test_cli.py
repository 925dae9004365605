"""The ``moongate`` command line, run as a real process: config validate, plugins list, start.

Every command runs as ``python -m host.cli`` in a subprocess with a timeout, so
exit codes, stdout (machine output) and stderr (logs) are what an operator sees.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.conftest import TEST_PLUGINS, Upstream, free_port

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "host" / "plugins" / "fixtures"
CONFIGS = FIXTURES / "configs"
BROKEN_PLUGINS = FIXTURES / "broken_plugins"
#: one plugin per file, each refused at load
BROKEN_COUNT = len(list(BROKEN_PLUGINS.glob("*.py")))
CLI = [sys.executable, "-m", "host.cli"]
#: settings from the environment would change what the commands do
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "MOONGATE_"))}

INVALID_ERRORS = [
    "invalid.yml: services[0] (name=echo): colour: unknown field",
    "invalid.yml: services[0].routes[0] (name=orders): paths[0]: "
    "should start with: / (fixed path) or ~/ (regex path)",
    "invalid.yml: services[0].routes[1] (name=orders): uniqueness violation: "
    "'routes' entity with name set to 'orders' already declared",
    "invalid.yml: routes[0] (name=dangling): service: "
    "invalid reference 'service: no-such-service' (no such entry in 'services')",
    "invalid.yml: plugins[0] (name=tagger): config.tag: required field missing",
    "invalid.yml: plugins[1] (name=no-such-plugin): name: "
    "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property",
]


def moongate(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line of ``text`` parsed as a JSON object (fails on any other line)."""
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all(isinstance(r, dict) and {"time", "level", "logger", "msg"} <= r.keys() for r in records)
    return records


# -- moongate config validate ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validate_invalid() -> subprocess.CompletedProcess[str]:
    return moongate("config", "validate", CONFIGS / "invalid.yml", "--plugins-dir", TEST_PLUGINS)


def test_validate_prints_every_error_on_stdout_and_fails(validate_invalid):
    assert validate_invalid.returncode == 1
    assert validate_invalid.stdout.splitlines() == INVALID_ERRORS
    assert validate_invalid.stderr.splitlines() == ["6 error(s)"]


def test_validate_valid_file_prints_a_one_line_summary():
    result = moongate("config", "validate", CONFIGS / "valid.yml", "--plugins-dir", TEST_PLUGINS)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "valid.yml: configuration is valid (1 services, 2 routes, 1 plugins)\n"


def test_validate_knows_only_the_plugins_it_can_load():
    result = moongate("config", "validate", CONFIGS / "valid.yml")  # no --plugins-dir: no `tagger`
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "valid.yml: plugins[0] (name=tagger): name: "
        "plugin 'tagger' not enabled; add it to the 'plugins' configuration property"
    ]


def test_validate_yaml_syntax_error_names_line_and_column():
    result = moongate("config", "validate", CONFIGS / "syntax_error.yml")
    assert result.returncode == 1
    assert (
        result.stdout
        == "syntax_error.yml: line 6, column 13: mapping values are not allowed in this context\n"
    )


def test_validate_missing_file(tmp_path):
    result = moongate("config", "validate", tmp_path / "absent.yml")
    assert result.returncode == 1
    assert result.stdout == "absent.yml: cannot read file: No such file or directory\n"


def test_validate_logs_plugin_load_failures_as_json_on_stderr():
    result = moongate(
        "config",
        "validate",
        CONFIGS / "valid.yml",
        "--plugins-dir",
        TEST_PLUGINS,
        "--plugins-dir",
        BROKEN_PLUGINS,
    )
    assert result.returncode == 0  # the file does not use the broken plugins
    assert result.stdout.startswith("valid.yml: configuration is valid")
    records = json_lines(result.stderr)
    failed = [r["msg"] for r in records if r["level"] == "error"]
    assert (
        "plugin failed to load: plugin 'misspelled-phase' "
        f"({BROKEN_PLUGINS / 'misspelled_phase.py'}): method 'acess' is not a phase (did you mean 'access'?); "
        "phases: init_worker, configure, certificate, rewrite, access, response, header_filter, body_filter, log"
    ) in failed
    assert len(failed) == BROKEN_COUNT  # one line each


# -- moongate plugins list ----------------------------------------------------------------------------------

TEST_PLUGIN_NAMES = {
    "auth-header",
    "buffered",
    "crasher",
    "exiter",
    "shared-reader",
    "shared-writer",
    "sleeper",
    "tagger",
    "tracer",
    "upper-body",
}


def test_plugins_list_table_sorted_by_priority():
    result = moongate("plugins", "list", "--plugins-dir", TEST_PLUGINS)
    assert (result.returncode, result.stderr) == (0, "")
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["NAME", "LANGUAGE", "VERSION", "PRIORITY", "PHASES"]
    rows = {line.split()[0]: line.split() for line in lines}
    assert rows.keys() >= TEST_PLUGIN_NAMES
    assert rows["tagger"] == ["tagger", "python", "1.2.3", "900", "access"]
    assert rows["upper-body"] == ["upper-body", "python", "1.0.0", "500", "header_filter,body_filter"]
    assert rows["tracer"][4] == "init_worker,configure,rewrite,access,header_filter,body_filter,log"
    priorities = [int(line.split()[3]) for line in lines]
    assert priorities == sorted(priorities, reverse=True)


def test_plugins_list_json():
    result = moongate("plugins", "list", "--json", "--plugins-dir", TEST_PLUGINS)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["failed"] == {}
    rows = {row["name"]: row for row in data["plugins"]}
    assert rows.keys() >= TEST_PLUGIN_NAMES
    assert rows["tagger"] == {
        "name": "tagger",
        "language": "python",
        "version": "1.2.3",
        "priority": 900,
        "phases": ["access"],
    }
    assert rows["buffered"]["phases"] == ["response"]
    priorities = [row["priority"] for row in data["plugins"]]
    assert priorities == sorted(priorities, reverse=True)


def test_plugins_list_reports_plugins_that_failed_to_load():
    table = moongate("plugins", "list", "--plugins-dir", TEST_PLUGINS, "--plugins-dir", BROKEN_PLUGINS)
    assert table.returncode == 0
    names = {line.split()[0] for line in table.stdout.splitlines()[1:]}
    assert "tagger" in names and "misspelled-phase" not in names
    failed = table.stderr.splitlines()
    assert len(failed) == BROKEN_COUNT and all(line.startswith("failed: ") for line in failed)
    assert f"failed: plugin 'word-version' ({BROKEN_PLUGINS / 'word_version.py'}): " in "\n".join(failed)

    as_json = json.loads(moongate("plugins", "list", "--json", "--plugins-dir", BROKEN_PLUGINS).stdout)
    assert (
        as_json["failed"]["no-version"]
        == f"plugin 'no-version' ({BROKEN_PLUGINS / 'no_version.py'}): VERSION is missing"
    )


# -- moongate start -------------------------------------------------------------------------------------------


def test_start_refuses_an_invalid_file():
    result = moongate(
        "start",
        "-c",
        CONFIGS / "invalid.yml",
        "--plugins-dir",
        TEST_PLUGINS,
        "--proxy-listen",
        f"127.0.0.1:{free_port()}",
        "--status-listen",
        "off",
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        *INVALID_ERRORS,
        "moongate: refusing to start: 6 error(s) in the configuration",
    ]


def test_start_refuses_a_missing_file(tmp_path):
    result = moongate("start", "-c", tmp_path / "absent.yml", "--status-listen", "off", timeout=30)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "absent.yml: cannot read file: No such file or directory",
        "moongate: refusing to start: 1 error(s) in the configuration",
    ]


def gateway_config(upstream: Upstream, *paths: str, tag: str | None = "v1") -> str:
    """A kong.yml with one route per path on the echo upstream, and a global `tagger`."""
    routes = [{"name": path.strip("/") or "root", "paths": [path]} for path in paths]
    tagger: dict[str, Any] = {"name": "tagger", "config": {} if tag is None else {"tag": tag}}
    return yaml.safe_dump(
        {
            "_format_version": "3.0",
            "services": [{"name": "echo", "url": upstream.url, "routes": routes}],
            "plugins": [tagger],
        }
    )


class GatewayProcess:
    """``moongate start`` in a subprocess; stderr goes to a file the test can read at any time."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr: Path, proxy: str, status: str) -> None:
        self.proc = proc
        self.stderr_path = stderr
        self.proxy = proxy
        self.status = status

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    async def wait_ready(self, http: aiohttp.ClientSession, timeout: float = 20) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"gateway exited with {self.proc.returncode}:\n{self.stderr}")
            try:
                async with http.get(self.status + "/status/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"gateway not ready after {timeout}s:\n{self.stderr}")

    async def stop(self, timeout: float = 5) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout)


@pytest.fixture
async def start_gateway(tmp_path) -> AsyncIterator[Any]:
    """``await start_gateway(config_file)`` -> a ready GatewayProcess; always killed at the end."""
    started: list[GatewayProcess] = []

    async def start(config_file: Path, http: aiohttp.ClientSession) -> GatewayProcess:
        ports = {free_port()}
        while len(ports) < 2:
            ports.add(free_port())
        proxy, status = (f"127.0.0.1:{port}" for port in ports)
        stderr = tmp_path / f"stderr-{len(started)}.log"
        with stderr.open("w") as err:
            proc = await asyncio.create_subprocess_exec(
                *CLI,
                "start",
                "-c",
                str(config_file),
                "--proxy-listen",
                proxy,
                "--status-listen",
                status,
                "--plugins-dir",
                str(TEST_PLUGINS),
                "--log-level",
                "info",
                cwd=REPO,
                env=ENV,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        gateway = GatewayProcess(proc, stderr, f"http://{proxy}", f"http://{status}")
        started.append(gateway)
        await gateway.wait_ready(http)
        return gateway

    yield start
    for gateway in started:
        if gateway.proc.returncode is None:
            gateway.proc.kill()
            await gateway.proc.wait()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """A session that closes each connection after its response (see the keep-alive test below)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


async def status_of(gateway: GatewayProcess, http: aiohttp.ClientSession) -> dict[str, Any]:
    async with http.get(gateway.status + "/status") as resp:
        assert resp.status == 200
        return await resp.json()


async def test_start_proxies_reports_status_and_stops_on_sigterm(
    tmp_path, echo_upstream, start_gateway, client
):
    config_file = tmp_path / "kong.yml"
    config_file.write_text(gateway_config(echo_upstream, "/first"))
    gateway = await start_gateway(config_file, client)

    async with client.get(gateway.proxy + "/first/hello?x=1") as resp:
        assert resp.status == 200
        assert resp.headers["X-Tag"] == "v1"  # the --plugins-dir plugin ran
        echoed = await resp.json()
    assert (echoed["path"], echoed["query"]) == ("/hello", "x=1")

    status = await status_of(gateway, client)
    assert isinstance(status["configuration_hash"], str) and status["configuration_hash"]
    assert set(status["plugins"]["loaded"]) >= TEST_PLUGIN_NAMES
    assert status["plugins"]["failed"] == {}
    assert status["plugins"]["init_worker_errors"] == {}

    assert await gateway.stop() == 0
    records = json_lines(gateway.stderr)
    started = next(r for r in records if r["msg"] == "moongate started")
    assert started["level"] == "notice" and started["logger"] == "moongate.gateway"
    assert started["proxy_port"] == int(gateway.proxy.rsplit(":", 1)[1])
    assert started["pid"] == gateway.proc.pid


async def test_sighup_reloads_the_file_and_keeps_the_config_when_the_new_file_is_invalid(
    tmp_path, echo_upstream, start_gateway, client
):
    config_file = tmp_path / "kong.yml"
    config_file.write_text(gateway_config(echo_upstream, "/first"))
    gateway = await start_gateway(config_file, client)
    first_hash = (await status_of(gateway, client))["configuration_hash"]
    async with client.get(gateway.proxy + "/second") as resp:
        assert resp.status == 404

    async def second_route_status() -> int:
        async with client.get(gateway.proxy + "/second") as resp:
            return resp.status

    # a valid new file: the new route answers
    config_file.write_text(gateway_config(echo_upstream, "/first", "/second", tag="v2"))
    gateway.proc.send_signal(signal.SIGHUP)
    for _ in range(200):
        if await second_route_status() == 200:
            break
        await asyncio.sleep(0.05)
    async with client.get(gateway.proxy + "/second") as resp:
        assert (resp.status, resp.headers["X-Tag"]) == (200, "v2")
    second_hash = (await status_of(gateway, client))["configuration_hash"]
    assert second_hash != first_hash

    # an invalid file: refused with the error on stderr, the running config keeps serving
    config_file.write_text(gateway_config(echo_upstream, "/first", "third", tag=None))
    gateway.proc.send_signal(signal.SIGHUP)
    for _ in range(200):
        if gateway.stderr.count("reload refused") >= 2:  # one line per error
            break
        await asyncio.sleep(0.05)
    refused = [r for r in json_lines(gateway.stderr) if r["msg"].startswith("reload refused: ")]
    assert [(r["level"], r["msg"]) for r in refused] == [  # in file order (safe_dump sorts the keys)
        ("error", "reload refused: kong.yml: plugins[0] (name=tagger): config.tag: required field missing"),
        (
            "error",
            "reload refused: kong.yml: services[0].routes[1] (name=third): paths[0]: "
            "should start with: / (fixed path) or ~/ (regex path)",
        ),
    ]
    async with client.get(gateway.proxy + "/second") as resp:
        assert (resp.status, resp.headers["X-Tag"]) == (200, "v2")
    assert (await status_of(gateway, client))["configuration_hash"] == second_hash
    assert gateway.proc.returncode is None

    assert await gateway.stop() == 0


async def test_sigterm_does_not_wait_for_idle_keepalive_connections(
    tmp_path, echo_upstream, start_gateway, http
):
    config_file = tmp_path / "kong.yml"
    config_file.write_text(gateway_config(echo_upstream, "/first"))
    gateway = await start_gateway(config_file, http)
    async with http.get(gateway.proxy + "/first") as resp:  # leaves an idle keep-alive connection
        assert resp.status == 200
    assert await gateway.stop(timeout=3) == 0
