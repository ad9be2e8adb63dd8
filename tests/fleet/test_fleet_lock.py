"""`torchpin lock --machines`: one build for every node of a fleet, judged by rules, not answers:
the build the fleet lock pins runs on every node (each node's own lock for that build succeeds),
and no newer release runs on them all (asking for one is exit 3)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.cli import run
from tests.support.fleet import A100, B200, CLUSTER, H100, NodeSpec, inventory, write_fleet

MARKER = re.compile(r'^(\S+)==(\S+) ; sys_platform == "linux" and platform_machine == "(\w+)"$')


def pins(text: str) -> dict[str, dict[str, str]]:
    """{arch: {project: version}} from a constraints lock."""
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        if m := MARKER.match(line):
            out.setdefault(m[3], {})[m[1]] = m[2]
    return out


def own_lock_args(spec: NodeSpec) -> list[str]:
    args = ["--no-detect", "--python-version", spec.python, "--python-platform", f"{spec.arch}-manylinux_2_35"]
    if spec.driver:
        args += ["--driver", spec.driver, *[a for _, cc in spec.gpus[:1] for a in ("--gpu-cc", cc)]]
    return args


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fleet(tmp_path_factory.mktemp("fleet") / "inventories")


@pytest.fixture(scope="module")
def fleet_lock(cluster: Path) -> tuple[str, str]:
    r = run("lock", "--offline", "--format", "constraints", "--machines", str(cluster), "--explain")
    assert r.returncode == 0, r.stderr
    return r.stdout, r.stderr


def test_the_fleet_build_runs_on_every_node(fleet_lock: tuple[str, str]) -> None:
    locked = pins(fleet_lock[0])
    assert set(locked) == {"x86_64", "aarch64"}
    torch = {arch: p["torch"] for arch, p in locked.items()}
    assert len({v.split("+")[0] for v in torch.values()}) == 1, torch  # one release everywhere
    for spec in CLUSTER:
        release, variant = torch[spec.arch].split("+")
        r = run("lock", "--offline", *own_lock_args(spec), f"torch=={release}", "--backend", variant)
        assert r.returncode == 0, f"{spec.name} can't run torch {torch[spec.arch]}: {r.stderr}"


def test_no_newer_release_runs_on_every_node(cluster: Path, fleet_lock: tuple[str, str]) -> None:
    release = next(iter(pins(fleet_lock[0]).values()))["torch"].split("+")[0]
    r = run("lock", "--offline", "--format", "constraints", "--machines", str(cluster), f"torch>{release}")
    assert r.returncode == 3, r.stdout + r.stderr


def test_explain_names_the_nodes_holding_the_fleet_back(fleet_lock: tuple[str, str]) -> None:
    said = fleet_lock[1]
    assert "6 node(s), 5 kind(s) of machine, 2 target(s)" in said  # the two V100 nodes are one kind
    held = next(line for line in said.splitlines() if line.startswith("held back by"))
    assert "the 2 nodes like gpu-v100-01" in held and "gpu-a100-01" in held and "gpu-h100-01" not in held
    assert re.search(r"gpu-a100-01 \(driver 550\.54\.15; 8x NVIDIA A100-SXM4-80GB \(8\.0\)\).*driver ≥ 580", said)
    assert re.search(r"gpu-v100-01 .*not even with driver 580: cu13\d has no kernels for sm_70", said)
    assert "login-01 (no GPU) runs this cu126 build on the CPU" in fleet_lock[0]


def test_the_lock_records_its_inventories_and_checks_against_them(tmp_path: Path) -> None:
    folder = write_fleet(tmp_path / "inv", CLUSTER[2:4])
    lock = tmp_path / "fleet.txt"
    r = run("lock", "--offline", "--machines", str(folder), "-o", str(lock), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"# made with: torchpin lock --machines {folder}" in lock.read_text()
    r = run("lock", "--offline", "--check", str(lock), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # A node joins the fleet with an older driver: the lock no longer fits the fleet.
    write_fleet(folder, (NodeSpec("gpu-a100-09", driver="535.104.05", gpus=(A100,)),))
    (folder / "gpu-h100-01.json").unlink()
    r = run("lock", "--offline", "--check", str(lock), cwd=tmp_path)
    assert r.returncode in (0, 7), r.stderr
    before = run("lock", "--offline", "--machines", str(folder), cwd=tmp_path).stdout
    same = [line for line in before.splitlines() if not line.startswith("#")] == [
        line for line in lock.read_text().splitlines() if not line.startswith("#")
    ]
    assert r.returncode == (0 if same else 7), r.stdout + r.stderr


def test_one_x86_fleet_is_a_plain_lock(tmp_path: Path) -> None:
    folder = write_fleet(tmp_path / "inv", (NodeSpec("a", driver="580.65.06", gpus=(H100,)), NodeSpec("b")))
    r = run("lock", "--offline", "--machines", str(folder))
    assert r.returncode == 0, r.stderr
    assert "--index-url https://pypi.org/simple" in r.stdout and " ; " not in r.stdout  # no markers


def test_no_one_build_for_an_old_and_a_new_gpu(tmp_path: Path) -> None:
    """Pascal needs cu126 (or older), Blackwell cu128+: no build has kernels for both."""
    specs = (
        NodeSpec("p100", driver="580.65.06", gpus=(("Tesla P100", "6.0"),)),
        NodeSpec("b200", driver="580.65.06", gpus=(B200,)),
    )
    r = run("lock", "--offline", "--machines", str(write_fleet(tmp_path / "inv", specs)))
    assert r.returncode == 3, r.stdout + r.stderr
    assert "no one build runs on all of b200, p100 together" in r.stderr and "--split" in r.stderr


def test_nvidia_and_amd_nodes_are_no_one_build(tmp_path: Path) -> None:
    specs = (NodeSpec("nv", driver="580.65.06", gpus=(H100,)), NodeSpec("mi300", gfx=("gfx942",)))
    r = run("lock", "--offline", "--machines", str(write_fleet(tmp_path / "inv", specs)))
    assert r.returncode == 3, r.stderr
    assert "(mi300: rocm; nv: cuda)" in r.stderr and "--split" in r.stderr


def test_a_node_with_no_build_is_named(tmp_path: Path) -> None:
    specs = (NodeSpec("ok", driver="580.65.06", gpus=(H100,)), NodeSpec("old-python", python="3.6"))
    r = run("lock", "--offline", "--machines", str(write_fleet(tmp_path / "inv", specs)))
    assert r.returncode == 3, r.stderr
    assert "no build runs on old-python (no GPU found): " in r.stderr


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda d: d.update(schema=2), "schema is '2', not 1"),
        (lambda d: d["platform"].update(os="plan9"), "platform.os 'plan9' is not linux, windows or macos"),
        (lambda d: d["nvidia"].update(driver="latest"), "nvidia.driver 'latest' is not an NVIDIA driver version"),
        (lambda d: d["nvidia"]["gpus"][0].update(cc="eight"), "nvidia.gpus[0].cc 'eight' is not a compute capability"),
        (lambda d: d.pop("python"), "python is missing"),
        (lambda d: d["python"].update(version=312), "python.version is int, not str"),
    ],
)
def test_a_bad_inventory_is_one_line_naming_file_and_field(tmp_path: Path, edit: object, said: str) -> None:
    doc = inventory(NodeSpec("n1", driver="580.65.06", gpus=(H100,)))
    edit(doc)  # type: ignore[operator]
    (tmp_path / "n1.json").write_text(json.dumps(doc))
    r = run("lock", "--offline", "--machines", str(tmp_path / "n1.json"))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{tmp_path / 'n1.json'}: {said}" in lines[0], r.stderr


def test_inventories_in_one_file_and_bad_paths(tmp_path: Path) -> None:
    both = "\n".join(json.dumps(inventory(s)) for s in CLUSTER[2:4])  # JSON lines, named by hostname
    (tmp_path / "all.json").write_text(both)
    r = run("lock", "--offline", "--machines", str(tmp_path / "all.json"), "--explain")
    assert r.returncode == 0, r.stderr
    assert "gpu-a100-01: driver 550.54.15" in r.stderr and "gpu-h100-01: driver 580.65.06" in r.stderr
    (tmp_path / "cut.json").write_text(both[:-40])
    r = run("lock", "--offline", "--machines", str(tmp_path / "cut.json"))
    assert r.returncode == 2 and "cut.json: not JSON at line" in r.stderr
    r = run("lock", "--offline", "--machines", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "no such file or directory" in r.stderr
    r = run("lock", "--offline", "--machines", str(tmp_path / "all.json"), "--driver", "580")
    assert r.returncode == 2 and "--driver describe one machine" in r.stderr


def test_an_unreadable_index_is_said_once_and_the_fleet_decides_from_the_snapshot(cluster: Path) -> None:
    r = run("lock", "--format", "constraints", "--machines", str(cluster), "--index-url", "http://127.0.0.1:9/whl")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("locking from the embedded snapshot") == 1, r.stderr
    assert "# source: embedded snapshot" in r.stdout
