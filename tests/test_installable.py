"""A lock is installable as is by real pip and real uv (dry run, local indexes, no network).

The indexes stand in for download.pytorch.org and PyPI. PyPI's stand-in also
serves an untagged torch of the same version, as the real one does, so the
test fails if either tool could pick the wrong build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support.local_index import write_simple_index
from .support.wheelmaker import make_wheel

TAG = "cp311-cp311-manylinux_2_28_x86_64"  # the test interpreter's own tag would also do
PINS = {"torch": "2.13.0", "torchvision": "0.28.0", "torchaudio": "2.11.0"}


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "TORCHPIN_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@pytest.fixture(scope="module")
def lock_and_indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("indexes")
    build = tmp / "build"
    variant_wheels = [
        make_wheel(build / "cpu", p, f"{v}+cpu", TAG, requires=("filelock",) if p == "torch" else ("torch",))
        for p, v in PINS.items()
    ]
    pypi_wheels = [
        make_wheel(build / "pypi", "torch", "2.13.0", TAG, requires=("filelock", "nvidia-fake-cu13")),
        make_wheel(build / "pypi", "filelock", "3.20.0"),
    ]
    base = tmp / "whl"
    write_simple_index(base / "cpu", variant_wheels)
    pypi_url = write_simple_index(tmp / "pypi" / "simple", pypi_wheels)
    r = subprocess.run(
        [sys.executable, "-m", "torchpin", "lock", "--no-detect", "--backend", "cpu", "--python-version", "3.11",
         "--python-platform", "x86_64-manylinux_2_28", "--index-url", base.as_uri(),
         "torch==2.13.0", "torchvision", "torchaudio"],
        capture_output=True, text=True, check=True, env=_clean_env(), timeout=60,
    )  # fmt: skip
    # The lock names the real PyPI; point that one line at PyPI's stand-in.
    lock = tmp / "requirements.txt"
    lock.write_text(r.stdout.replace("https://pypi.org/simple", pypi_url))
    assert f"--extra-index-url {base.as_uri()}/cpu" in r.stdout
    return lock, tmp


def _venv(tmp: Path) -> Path:
    venv = tmp / "venv"
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    return venv / "bin" / "python"


def test_pip_installs_the_lock(lock_and_indexes: tuple[Path, Path]) -> None:
    lock, tmp = lock_and_indexes
    report = tmp / "pip-report.json"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", str(report), "--target", str(tmp / "unused"), "-r", str(lock)],
        capture_output=True, text=True, env=_clean_env(), timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    chosen = {i["metadata"]["name"]: i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    assert chosen == {**{p: f"{v}+cpu" for p, v in PINS.items()}, "filelock": "3.20.0"}


def test_uv_installs_the_lock(lock_and_indexes: tuple[Path, Path]) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (scripts/test installs it with the dev extra)")
    lock, tmp = lock_and_indexes
    r = subprocess.run(
        [uv, "pip", "install", "--dry-run", "--python", str(_venv(tmp)), "-r", str(lock)],
        capture_output=True, text=True, env=_clean_env(), timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    for project, version in PINS.items():
        assert f"+ {project}=={version}+cpu" in r.stderr
