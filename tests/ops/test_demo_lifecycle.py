"""`kanta demo` serves the app, Ctrl-C leaves no postgres behind, and a kill -9 is recovered by the next run."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from backend.embedded import EmbeddedPostgres, _pid_alive


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_demo(data_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "KANTA_PORT": str(port)}
    env.pop("SUPABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "--data-dir", str(data_dir), "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until_served(proc: subprocess.Popen, port: int, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"demo exited early:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                return resp.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError("demo did not serve in time")


@pytest.fixture
def data_dir():
    path = Path("/dev/shm" if Path("/dev/shm").is_dir() else "/tmp") / f"kanta-demo-{os.getpid()}"
    yield path
    EmbeddedPostgres(path).stop()
    import shutil

    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_demo_serves_flet_and_stopping_it_leaves_no_postgres(data_dir, stop_signal):
    port = _free_port()
    proc = _start_demo(data_dir, port)
    page = _wait_until_served(proc, port)
    assert "flutter" in page.lower() or "flet" in page.lower()
    pg = EmbeddedPostgres(data_dir)
    postmaster = pg.postmaster_pid()
    assert _pid_alive(postmaster)

    proc.send_signal(stop_signal)
    out, _ = proc.communicate(timeout=30)
    assert "database stopped" in out
    assert not _pid_alive(postmaster)
    assert not pg.running()


def test_after_kill_9_the_next_demo_recovers_by_itself(data_dir):
    port = _free_port()
    first = _start_demo(data_dir, port)
    _wait_until_served(first, port)
    pg = EmbeddedPostgres(data_dir)
    orphan = pg.postmaster_pid()
    first.kill()  # kill -9: no cleanup runs
    first.wait(10)
    assert _pid_alive(orphan), "postgres should outlive a kill -9 of the demo"

    second = _start_demo(data_dir, port)
    try:
        _wait_until_served(second, port)
        assert not _pid_alive(orphan), "the orphaned cluster was not reaped"
        assert pg.running()
    finally:
        second.send_signal(signal.SIGINT)
        second.communicate(timeout=30)
    assert not pg.running()
