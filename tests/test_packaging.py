"""The built wheel carries the snapshot and runs from a plain install (not only editable)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_the_snapshot_and_runs(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    # symlinks=True keeps resolver/data/wheel_index.json a link, as in a clone
    shutil.copytree(ROOT / "resolver", src / "resolver", symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "data", src / "data")
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
    subprocess.run([*build, "-w", str(dist), str(src)], check=True, env=env, timeout=300)
    (wheel,) = dist.glob("torchpin-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        shipped = zf.read("torchpin/data/wheel_index.json")
    assert shipped == (ROOT / "data" / "wheel_index.json").read_bytes()  # the file itself, not a link
    assert "torchpin/py.typed" in names and "torchpin/cli/app.py" in names and "torchpin/envs/verify_script.py" in names
    assert not any(n.startswith("resolver/") for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        env=env,
        timeout=300,
    )
    run_env = {**env, "PYTHONPATH": str(target)}
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "import torchpin, sys; print(torchpin.__file__); sys.argv=['torchpin','lock',"
            "'--offline','--no-detect','--python-version','3.12','--python-platform','linux','torch'];"
            "from torchpin.cli import main; main()",
        ],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    first, *lock = r.stdout.splitlines()
    assert first.startswith(str(target))  # the installed copy ran, not the checkout
    assert "torch==2.15.0+cpu" in lock
