"""The wheel and the sdist carry what torchpin needs, with no symlink in the way (issue 17, item 10).

Built here with setuptools' own PEP 517 hooks (no network, no isolation) from a copy of the
checkout, so nothing is written into it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds the wheel and sdist

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache", ".hypothesis")
HOOK = "import sys; from setuptools import build_meta as b; print(getattr(b, sys.argv[1])(sys.argv[2]))"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    tmp = tmp_path_factory.mktemp("packaging")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=SKIP, symlinks=True)
    out: dict[str, Path | str] = {}
    for hook in ("build_wheel", "build_sdist"):
        done = subprocess.run(
            [sys.executable, "-c", HOOK, hook, str(tmp)],
            cwd=src,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "PYTHONWARNINGS": "always"},
        )
        assert done.returncode == 0, done.stderr
        out[hook] = tmp / done.stdout.strip().splitlines()[-1]
        out[hook + ".log"] = done.stderr
    return out


def test_no_symlink_carries_anything() -> None:
    links = [p for top in ("resolver", "data") for p in (ROOT / top).rglob("*") if p.is_symlink()]
    assert links == []


def test_the_wheel_holds_the_snapshot_itself(built: dict[str, Path | str]) -> None:
    with zipfile.ZipFile(built["build_wheel"]) as whl:
        data = whl.read("torchpin/data/wheel_index.json")
        meta = whl.read(next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        names = whl.namelist()
    assert data == (ROOT / "data" / "wheel_index.json").read_bytes()
    assert json.loads(data)["schema"]
    assert "License-Expression: MIT" in meta and "Classifier: Programming Language :: Python :: 3.12" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "torchpin/py.typed" in names


def test_the_sdist_builds_the_wheel_and_ships_no_half_test_tree(built: dict[str, Path | str]) -> None:
    with tarfile.open(built["build_sdist"]) as sdist:
        names = [m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name]
    assert "data/wheel_index.json" in names and "LICENSE" in names and "pyproject.toml" in names
    assert not [n for n in names if n.startswith("tests/")]  # none, rather than one that can't run


def test_building_warns_of_nothing(built: dict[str, Path | str]) -> None:
    for log in ("build_wheel.log", "build_sdist.log"):
        # PYTHONDONTWRITEBYTECODE (set by some environments) makes setuptools say it skips .pyc files.
        lines = [line for line in str(built[log]).splitlines() if "byte-compiling is disabled" not in line]
        assert not [line for line in lines if "warning" in line.lower()], "\n".join(lines)


def test_the_installed_wheel_runs_with_its_own_snapshot(built: dict[str, Path | str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target)]
    subprocess.run([*pip, str(built["build_wheel"])], check=True, env=env, timeout=300)
    code = (
        "import torchpin, sys; print(torchpin.__file__); sys.argv=['torchpin','lock',"
        "'--offline','--no-detect','--python-version','3.12','--python-platform','linux','--backend','cpu','torch'];"
        "from torchpin.cli import main; main()"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(target)},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    first, *lock = r.stdout.splitlines()
    assert first.startswith(str(target))  # the installed copy ran, not the checkout
    from packaging.version import Version

    newest = max(json.loads((ROOT / "data" / "wheel_index.json").read_bytes())["releases"], key=Version)
    assert f"torch=={newest}+cpu" in lock  # the newest release of the shipped snapshot, not a hard-coded one
