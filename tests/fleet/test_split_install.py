"""A split fleet installed for real: this machine's own inventory and a GPU node's are locked with
`--split`; `install --lock` of the index on this machine picks this machine's group, pip installs
the real CPU torch from the fake index, verify passes against that group's lock, and uv installs
that lock by itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.envs.test_install import env, pypi_reachable, torchpin, venv
from tests.support.fake_index import REAL_TORCH, FakeIndexServer
from tests.support.fleet import H100, NodeSpec, inventory

pytestmark = pytest.mark.slow  # a real pip install into a fresh venv


def test_install_lock_of_a_split_index_installs_this_machines_group(tmp_path: Path) -> None:
    if not REAL_TORCH.exists():
        pytest.skip(f"the real CPU torch wheel is not on this machine ({REAL_TORCH})")
    if not pypi_reachable():
        pytest.skip("PyPI is unreachable: the real torch's dependencies (filelock, sympy, ...) come from it")
    environ = env(TORCHPIN_CACHE_DIR=str(tmp_path / "cache"))
    python = venv(tmp_path / "venv")
    inventories = tmp_path / "inventories"
    inventories.mkdir()
    here = torchpin("detect", "--json", environ=environ)  # this machine, as its own node would report it
    assert here.returncode == 0, here.stderr
    (inventories / "this-machine.json").write_text(here.stdout)
    gpu = inventory(
        NodeSpec(
            "gpu-h100-01", driver="580.65.06", gpus=(H100,) * 8, python=json.loads(here.stdout)["python"]["version"]
        )
    )
    (inventories / "gpu-h100-01.json").write_text(json.dumps(gpu))
    with FakeIndexServer() as index:
        made = torchpin(
            *("lock", "torch==2.13.0", "--machines", str(inventories), "--split", str(tmp_path / "locks")),
            *("--index-url", index.base, "--no-fallback"),
            environ=environ,
        )
        assert made.returncode == 0, made.stderr
        groups = json.loads((tmp_path / "locks" / "torchpin-fleet.json").read_text())["groups"]
        assert sorted(g["backend"].startswith("cu") for g in groups) == [False, True]
        cpu = next(g for g in groups if g["backend"] == "cpu")
        assert cpu["nodes"] == ["this-machine"]
        done = torchpin(
            *("install", "--lock", str(tmp_path / "locks" / "torchpin-fleet.json")),
            *("--python", str(python), "--installer", "pip"),
            environ=environ,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert f"{cpu['lock']}: this machine is like this-machine" in done.stderr
        lock = tmp_path / "locks" / cpu["lock"]
        # Each group's lock is a plain lock: uv installs it by itself too.
        uv = Path(sys.executable).with_name("uv")
        other = venv(tmp_path / "uv-venv")
        argv = [str(uv), "pip", "install", "--dry-run", "--python", str(other), "-r", str(lock)]
        by_uv = subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=600, check=False)
        assert by_uv.returncode == 0 and "torch==2.13.0+cpu" in by_uv.stderr, by_uv.stderr[-2000:]
        r = torchpin("verify", "--python", str(python), "--lock", str(lock), "--json", environ=environ)
        assert r.returncode == 0, r.stdout + r.stderr
        assert {c["id"]: c["status"] for c in json.loads(r.stdout)["checks"]}["installed-set"] == "pass"
