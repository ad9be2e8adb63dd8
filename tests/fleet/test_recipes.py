"""The README's cluster recipes, run as written on a simulated cluster (tests/support/cluster.py):
`srun` and a Kubernetes DaemonSet gather each node's `torchpin detect --json`, the fleet is
locked from them, and `install --lock` of a split fleet's index picks each node's group."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cluster import FakeNode, cluster, node_root
from tests.support.fleet import A100, H100, V100
from tests.support.schemas import valid

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
NODES = (
    FakeNode("gpu-a100-01", "550.54.15", (A100,) * 4),
    FakeNode("gpu-h100-01", "580.65.06", (H100,) * 8),
    FakeNode("gpu-v100-01", "535.104.05", (V100,) * 8),
    FakeNode("login-01", None),
)


def block(marker: str, lang: str) -> str:
    found = re.search(rf"<!-- {marker} -->\s*```{lang}\n(.*?)```", README, re.DOTALL)
    assert found, f"README.md lost its {marker} block"
    return found[1]


def sh(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = ["sh", "-ec", script]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False)


def test_the_slurm_recipe_locks_the_fleet(tmp_path: Path) -> None:
    _, env = cluster(tmp_path, NODES)
    done = sh(block("tested-slurm", "bash"), env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.stem for p in (tmp_path / "inventories").iterdir()) == [n.name for n in NODES]
    lock = (tmp_path / "requirements.txt").read_text()
    assert re.search(r"(?m)^torch==\S+\+cu126$", lock), lock  # the V100 (sm_70) needs cu126
    assert "held back by" in done.stderr and "gpu-v100-01" in done.stderr
    assert "login-01 (no GPU) runs this cu126 build on the CPU" in lock


def test_the_kubernetes_recipe_splits_and_each_node_installs_its_group(tmp_path: Path) -> None:
    roots, env = cluster(tmp_path, NODES)
    (tmp_path / "torchpin-inventory.yaml").write_text(block("tested-daemonset", "yaml"))
    done = sh(block("tested-kubernetes", "bash"), env, tmp_path)
    assert done.returncode == 0, done.stderr
    index = tmp_path / "locks" / "torchpin-fleet.json"
    valid("fleet-index", json.loads(index.read_text()))
    groups = json.loads(index.read_text())["groups"]
    assert sorted(n for g in groups for n in g["nodes"]) == [n.name for n in NODES]
    for g in groups:  # each group's lock is a plain lock of its build
        assert f"torch=={g['torch']}+{g['backend']}" in (tmp_path / "locks" / g["lock"]).read_text()
    by_node = {n: g for g in groups for n in g["nodes"]}
    for node in NODES:
        here = {**env, "TORCHPIN_SYSROOT": str(roots / node.name), "PATH": f"{roots / node.name / 'bin'}:{env['PATH']}"}
        done = sh(f"torchpin install --lock {index} --dry-run --no-verify --python {_python()}", here, tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"{by_node[node.name]['lock']}: this machine is like {node.name}" in done.stderr
    # A node that joined after the inventories: the newest group whose build runs on it.
    late = node_root(tmp_path / "late", FakeNode("gpu-h100-02", "590.44.01", (H100,) * 4))
    here = {**env, "TORCHPIN_SYSROOT": str(late.root), "PATH": f"{late.root / 'bin'}:{env['PATH']}"}
    done = sh(f"torchpin install --lock {index} --dry-run --no-verify --python {_python()}", here, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{by_node['gpu-h100-01']['lock']}: no fleet node is like this one" in done.stderr


def test_a_machine_no_group_fits_is_exit_3(tmp_path: Path) -> None:
    _, env = cluster(tmp_path, NODES[1:2] + NODES[3:])  # groups: cu13x (H100 at 580) and cpu
    done = sh(
        "srun --output='inv/%N.json' torchpin detect --json; torchpin lock --machines inv --split locks", env, tmp_path
    )
    assert done.returncode == 0, done.stderr
    old = node_root(tmp_path / "old", FakeNode("gpu-t4-01", "535.104.05", (("Tesla T4", "7.5"),)))
    here = {**env, "TORCHPIN_SYSROOT": str(old.root), "PATH": f"{old.root / 'bin'}:{env['PATH']}"}
    done = sh(f"torchpin install --lock locks/torchpin-fleet.json --dry-run --python {_python()}", here, tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    said = done.stderr.strip()
    assert "no group of locks/torchpin-fleet.json fits this machine" in said and "driver 535.104.05 < 580" in said
    assert "a CPU build would leave this machine's GPU unused" in said


def _python() -> str:
    return sys.executable


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCHPIN_OFFLINE", "1")
