"""Start-up failures are one line naming the variable, exit 2, no traceback; `--check` catches
what it can without starting; the banner only appears once aoa listens."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import aoa

ROOT = Path(aoa.__file__).parent


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "AOA_TYPE": "mock", "AOA_HOST": "127.0.0.1"}
    return subprocess.run([sys.executable, "-m", "aoa", *args], env={**base, **env}, cwd=ROOT, capture_output=True, text=True, timeout=30)


def one_line_exit_2(r: subprocess.CompletedProcess, *needles: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for needle in needles:
        assert needle in lines[0]
    assert "serving" not in r.stderr + r.stdout


def test_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run({"AOA_PORT": str(port)})
    one_line_exit_2(r, f"AOA_PORT={port}", "already in use")


def test_unresolvable_host():
    r = run({"AOA_HOST": "no-such-host.invalid", "AOA_PORT": "0"})
    one_line_exit_2(r, "AOA_HOST='no-such-host.invalid'", "does not resolve")


@pytest.mark.parametrize("host", ["http://0.0.0.0", "0.0.0.0:8080", "a b", "300.1.1.1"])
def test_malformed_host_refused_by_check_too(host):
    for args in ((), ("--check",)):
        one_line_exit_2(run({"AOA_HOST": host, "AOA_PORT": "0"}, *args), "AOA_HOST=")


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is not None, reason="uvloop is installed here")
def test_uvloop_missing_refused_by_check_too():
    for args in ((), ("--check",)):
        one_line_exit_2(run({"AOA_UVLOOP": "true", "AOA_PORT": "0"}, *args), "AOA_UVLOOP", "uvloop")


def test_banner_names_the_bound_port_and_host():
    proc = subprocess.Popen(
        [sys.executable, "-m", "aoa"], cwd=ROOT, stderr=subprocess.PIPE, text=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "AOA_TYPE": "mock", "AOA_HOST": "127.0.0.1", "AOA_PORT": "0"},
    )
    try:
        line = proc.stderr.readline()
        assert "serving AOA_TYPE=mock" in line
        port = int(line.rsplit(":", 1)[1])
        assert port > 0  # the port really bound, not the 0 asked for
        # Listening already: a client that connects now is served once the app is up.
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
    assert proc.returncode == 0
