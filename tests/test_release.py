"""What ships: the smoke table covers every kind, the zipapp refuses a foreign interpreter in one
line, the dependency floors are pinnable, and the build/run targets install what they say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import providers
from tests.smoke import SMOKE

ROOT = Path(__file__).parent.parent
PREAMBLE = ROOT / ".ci" / "zipapp_preamble.py"


def test_every_kind_has_a_smoke_row():
    missing = sorted(set(providers.KINDS) - set(SMOKE))
    assert not missing, f"add a row to tests/smoke.py SMOKE for: {', '.join(missing)}"
    assert not set(SMOKE) - set(providers.KINDS), "a smoke row names a kind that no longer exists"


def _run_preamble(tmp_path: Path, core_name: str) -> subprocess.CompletedProcess:
    site = tmp_path / "site-packages"
    (site / "msgspec").mkdir(parents=True)
    (site / "msgspec" / core_name).write_bytes(b"")
    code = (
        "import runpy, sys; "
        f"runpy.run_path({str(PREAMBLE)!r}, init_globals={{'site_packages': {str(site)!r}}}, run_name='__main__'); "
        "print('entry point reached')"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)


def test_zipapp_on_a_foreign_interpreter_says_so_in_one_line(tmp_path):
    r = _run_preamble(tmp_path, "_core.cpython-39-aarch64-linux-gnu.so")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "built for cpython-39-aarch64-linux-gnu" in lines[0]
    assert f"Python {sys.version_info[0]}.{sys.version_info[1]}" in lines[0]
    assert "make zipapp PYTHON=" in lines[0]
    assert "entry point reached" not in r.stdout


def test_zipapp_on_its_own_interpreter_starts(tmp_path):
    import importlib.machinery

    r = _run_preamble(tmp_path, "_core" + importlib.machinery.EXTENSION_SUFFIXES[0])
    assert r.returncode == 0, r.stderr
    assert "entry point reached" in r.stdout


def test_lowest_pins_every_runtime_dependency():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    out = subprocess.run([sys.executable, str(ROOT / ".ci" / "lowest.py")], capture_output=True, text=True, check=True).stdout
    pins = dict(line.split("==") for line in out.split())
    assert sorted(pins) == sorted(re.split(r"[<>=!~ ;\[]", d)[0] for d in deps)
    assert pins["aiohttp"] == "3.11"  # ClientSession(proxy=...) needs it; 3.10 fails at start


def test_every_package_directory_ships():
    from setuptools import find_namespace_packages  # the discovery pyproject.toml configures

    wanted = sorted(
        str(p.parent.relative_to(ROOT)).replace(os.sep, ".")
        for top in ("providers", "gateway") for p in (ROOT / top).rglob("__init__.py")
    )
    found = sorted(find_namespace_packages(str(ROOT), include=["providers", "providers.*", "gateway", "gateway.*"]))
    assert set(wanted) <= set(found)
    text = (ROOT / "pyproject.toml").read_text()
    assert "[tool.setuptools.packages.find]" in text and "packages = [" not in text


@pytest.mark.parametrize("target, extra", [("run", False), ("check", False), ("test", True)])
def test_make_targets_install_what_they_say(tmp_path, target, extra):
    r = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'v'}"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert ("[test]" in r.stdout) is extra, r.stdout


def test_make_help_lists_the_targets():
    r = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    for target in ("run", "check", "test", "wheel", "zipapp", "bench"):
        assert f"make {target}" in r.stdout


def test_the_image_installs_the_wheel():
    docker = (ROOT / "Dockerfile").read_text()
    assert "image-install.sh" in docker and "healthcheck.py" in docker
    assert not re.search(r"pip install \.(\s|$)", docker)
