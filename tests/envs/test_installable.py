"""A lock made from the (fake) live index installs as is with real pip and real uv (dry run).

Both indexes run on 127.0.0.1: the fake PyTorch index, and a stand-in PyPI that also serves
an untagged torch of the same version, as the real PyPI does, so the test fails if either
tool could pick the wrong build. No network beyond loopback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import installer_env, pip_dry_run
from tests.support.fake_index import FakeIndexServer
from tests.support.local_index import write_simple_index
from tests.support.static_server import StaticServer
from tests.support.wheelmaker import make_wheel

pytestmark = pytest.mark.slow  # real pip and uv resolutions

TAG = "cp311-cp311-manylinux_2_28_x86_64"
PINS = {"torch": "2.14.1", "torchvision": "0.29.1", "torchaudio": "2.11.0"}


@pytest.fixture(scope="module", params=["index", "find-links"])
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path, FakeIndexServer]]:
    tmp = tmp_path_factory.mktemp("installable")
    decoy = make_wheel(tmp / "build", "torch", "2.14.1", TAG, requires=("nvidia-fake-cu13",))
    write_simple_index(tmp / "pypi" / "simple", [decoy])
    with FakeIndexServer() as index, StaticServer(tmp / "pypi") as pypi:
        where = ["--index-url", index.base] if request.param == "index" else ["--find-links", f"{index.url}/flat"]
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "torchpin",
                "lock",
                "--no-detect",
                "--backend",
                "cpu",
                "--python-version",
                "3.11",
                "--python-platform",
                "x86_64-manylinux_2_28",
                *where,
                "--no-fallback",
                "--refresh",
                *(f"{p}=={v}" for p, v in PINS.items()),
            ],
            capture_output=True,
            text=True,
            check=False,
            env=installer_env(TORCHPIN_CACHE_DIR=str(tmp / "cache")),
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        expected = (
            f"--find-links {index.base}/cpu/torch/"
            if request.param == "index"
            else f"--find-links {index.url}/flat/cpu/"
        )
        assert expected in r.stdout and "# source: live index" in r.stdout
        lock = tmp / "requirements.txt"
        # The lock names the real PyPI; point that one line at PyPI's stand-in.
        lock.write_text(r.stdout.replace("https://pypi.org/simple", f"{pypi.url}/simple"))
        yield lock, tmp, index


def test_pip_installs_the_lock(setup: tuple[Path, Path, FakeIndexServer]) -> None:
    lock, tmp, _ = setup
    chosen = pip_dry_run(tmp, "-r", str(lock))
    assert chosen == {p: f"{v}+cpu" for p, v in PINS.items()}


def test_uv_installs_the_lock(setup: tuple[Path, Path, FakeIndexServer]) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (scripts/test installs it with the dev extra)")
    lock, tmp, _ = setup
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    r = subprocess.run(
        [uv, "pip", "install", "--dry-run", "--python", str(venv / "bin" / "python"), "-r", str(lock)],
        capture_output=True,
        text=True,
        env=installer_env(UV_CACHE_DIR=str(tmp / "uv-cache")),
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    for project, version in PINS.items():
        assert f"+ {project}=={version}+cpu" in r.stderr
