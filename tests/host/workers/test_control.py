"""host/workers/control.py: worker count, durations, the pid file, the prefix folders."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from host.workers.control import (
    GatewayNotRunning,
    parse_duration,
    pid_file,
    prepare_prefix,
    read_pid,
    resolve_workers,
)


def test_auto_is_the_cores_this_process_may_use():
    assert resolve_workers("auto") == len(os.sched_getaffinity(0))
    assert resolve_workers(None) == len(os.sched_getaffinity(0))
    assert resolve_workers("3") == 3 and resolve_workers(2) == 2


def test_auto_follows_cpu_affinity():
    """Under `taskset -c 0` (the benchmark's pinning) auto means one worker."""
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "0",
            sys.executable,
            "-c",
            "from host.workers.control import resolve_workers as r; print(r('auto'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "1"


@pytest.mark.parametrize("bad", ["0", "-1", "two", ""])
def test_bad_worker_counts_are_refused(bad):
    with pytest.raises(ValueError, match="expected a positive number or 'auto'"):
        resolve_workers(bad)


def test_durations_in_nginx_syntax():
    assert parse_duration("10s") == 10.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1m") == 60.0
    assert parse_duration("2.5") == 2.5 and parse_duration(3) == 3.0
    with pytest.raises(ValueError, match="expected e.g. 10s"):
        parse_duration("soon")


def test_pid_file_lives_as_long_as_the_block(tmp_path):
    prefix = tmp_path / "prefix"
    with pytest.raises(GatewayNotRunning, match="no gateway is running with prefix .*moongate.pid not found"):
        read_pid(prefix)
    with pid_file(prefix) as path:
        assert path == prefix / "moongate.pid"
        assert read_pid(prefix) == os.getpid()
    assert not path.exists()


def test_a_stale_pid_file_says_the_process_is_gone(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "moongate.pid").write_text(f"{dead.pid}\n")
    with pytest.raises(GatewayNotRunning, match=f"pid {dead.pid} from .* is gone"):
        read_pid(tmp_path)
    (tmp_path / "moongate.pid").write_text("garbage")
    with pytest.raises(GatewayNotRunning, match="does not hold a pid"):
        read_pid(tmp_path)


def test_prepare_prefix_removes_only_what_dead_processes_left(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # restored (unset) after the test
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    metrics, status = tmp_path / "metrics", tmp_path / "status"
    metrics.mkdir()
    status.mkdir()
    (metrics / f"counter_{dead.pid}.db").write_bytes(b"old")
    (metrics / f"counter_{os.getpid()}.db").write_bytes(b"live")
    (status / f"{dead.pid}.json").write_text("{}")
    assert prepare_prefix(tmp_path) == (metrics.resolve(), status.resolve())
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(metrics.resolve())
    assert sorted(p.name for p in metrics.iterdir()) == [f"counter_{os.getpid()}.db"]
    assert list(status.iterdir()) == []
