"""The benchmark lab (tests/support/lab.py) and its judge (scripts/bench_judge.py): the lab must
serve every tool the same index over HTTPS through its proxy, and the judge must read the
snapshot's facts right, or BENCHMARKS.md would report nonsense."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version

from tests.support.cli import run as run_cli
from tests.support.newest import TORCH as NEWEST

from .support.lab import Gpu, Lab, Machine, shims

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from bench_judge import CPU_ONLY, FAILS, INFERRED, RUNS, Judge  # noqa: E402

pytestmark = [
    pytest.mark.slow,  # the HTTPS lab and real peers
    pytest.mark.skipif(shutil.which("openssl") is None, reason="the lab's CA is made with openssl"),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab")) as running:
        yield running


def lock(lab: Lab, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "TORCHPIN_")) and "proxy" not in k.lower()
    }
    env.update(lab.env(), TORCHPIN_CACHE_DIR=str(tmp / "cache"))
    return run_cli("lock", "--no-detect", "--python-version", "3.11", "--no-fallback", *args, env=env, timeout=120)


def test_torchpin_reaches_the_imitated_index_through_the_proxy(lab: Lab, tmp_path: Path) -> None:
    before = lab.proxy.connects["download.pytorch.org"]
    r = lock(lab, tmp_path, "--backend", "cpu", "--refresh")
    assert r.returncode == 0, r.stderr
    assert "# source: live index https://download.pytorch.org/whl" in r.stdout
    assert f"torch=={NEWEST}+cpu" in r.stdout
    assert lab.proxy.connects["download.pytorch.org"] > before  # by CONNECT, verified against the lab's CA


def pinned_by_url(lock_text: str, project: str) -> tuple[str, str]:
    """The URL and sha256 of a requirements lock's ``project @ URL#sha256=…`` line."""
    line = next(x for x in lock_text.splitlines() if x.startswith(f"{project} @ "))
    url, _, digest = line.removeprefix(f"{project} @ ").partition("#sha256=")
    return url, digest


def test_pyg_files_come_from_the_real_hosts_name_hashed(lab: Lab, tmp_path: Path) -> None:
    """data.pyg.org's stand-in, reached by its own name through the proxy: the page of the chosen
    torch is read, its relative link resolved on that host, and the file hashed."""
    r = lock(lab, tmp_path, "torch", "torch-scatter", "--backend", "cu128")
    assert r.returncode == 0, r.stderr
    url, digest = pinned_by_url(r.stdout, "torch-scatter")
    assert url == (
        "https://data.pyg.org/whl/torch-2.11.0%2Bcu128/torch_scatter-2.1.2%2Bpt211cu128-cp311-cp311-linux_x86_64.whl"
    )
    assert len(digest) == 64 and lab.proxy.connects["data.pyg.org"] > 0


def test_flash_attn_comes_from_githubs_release_through_its_redirect(lab: Lab, tmp_path: Path) -> None:
    """GitHub's stand-in, by its own name: the release URL answers 302 to the asset host, whose
    file is read and hashed."""
    r = lock(lab, tmp_path, "torch", "flash-attn", "--backend", "cu128")
    assert r.returncode == 0, r.stderr
    url, digest = pinned_by_url(r.stdout, "flash-attn")
    assert url == (
        "https://github.com/Dao-AILab/flash-attention/releases/download/v2.8.3.post1/"
        "flash_attn-2.8.3.post1%2Bcu12torch2.8cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    )
    assert len(digest) == 64
    assert lab.proxy.connects["github.com"] > 0 and lab.proxy.connects["release-assets.githubusercontent.com"] > 0


def test_hosts_outside_the_lab_are_refused_and_counted(lab: Lab, tmp_path: Path) -> None:
    refused = lab.refused()
    r = lock(lab, tmp_path, "--backend", "cpu", "--index-url", "https://example.org/whl")
    assert r.returncode == 4
    assert lab.refused() > refused


def test_the_delay_line_keeps_every_byte(lab: Lab, tmp_path: Path) -> None:
    plain = lock(lab, tmp_path / "a", "--backend", "cu126")
    lab.proxy.delay = 0.02
    try:
        delayed = lock(lab, tmp_path / "b", "--backend", "cu126")
    finally:
        lab.proxy.delay = 0.0
    assert plain.returncode == delayed.returncode == 0, delayed.stderr
    assert plain.stdout.splitlines()[-3:] == delayed.stdout.splitlines()[-3:]


def test_the_fake_nvidia_smi_behaves_like_old_and_new_drivers(tmp_path: Path) -> None:
    gpu = Gpu("Tesla T4", "7.5", pci="10de:1eb8", chip="TU104GL [Tesla T4]")
    old = shims(Machine("T4", driver="470.256.02", gpus=(gpu,)), tmp_path / "old")
    new = shims(Machine("T4", driver="550.54.15", gpus=(gpu,)), tmp_path / "new")
    query = ["--query-gpu=index,name,driver_version,compute_cap", "--format=csv,noheader,nounits"]
    refused = subprocess.run([str(old / "nvidia-smi"), *query], capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "compute_cap" in refused.stdout  # R470 predates the field
    ok = subprocess.run([str(new / "nvidia-smi"), *query], capture_output=True, text=True, check=True)
    assert ok.stdout.strip() == "0, Tesla T4, 550.54.15, 7.5"
    assert not (shims(Machine("none"), tmp_path / "none") / "nvidia-smi").exists()


RTX3090 = Machine("3090", driver="550.54.15", gpus=(Gpu("RTX 3090", "8.6"),))
GTX1080 = Machine("1080", driver="580.65.06", gpus=(Gpu("GTX 1080", "6.1"),))
RTX5090 = Machine("5090", driver="570.86.15", gpus=(Gpu("RTX 5090", "12.0"),))
NO_GPU = Machine("none")
MAC = Machine("mac", os="macos", arch="arm64")


@pytest.mark.parametrize(
    ("machine", "pins", "verdict", "fragment"),
    [
        # the driver floor of CUDA 13.x (R580) is above 550
        (RTX3090, {"torch": "2.15.0+cu130"}, FAILS, "driver 550.54.15 < 580"),
        (RTX3090, {"torch": "2.14.1+cu126", "torchvision": "0.29.1+cu126"}, RUNS, "cu126"),
        # cu130 carries no sm_6x kernels (Pascal), cu126 has no sm_120 (Blackwell)
        (GTX1080, {"torch": "2.15.0+cu130"}, FAILS, "no kernels for sm_61"),
        (RTX5090, {"torch": "2.14.1+cu126"}, FAILS, "no kernels for sm_120"),
        # a CPU build on a GPU machine runs, but leaves the GPU idle
        (RTX3090, {"torch": "2.15.0+cpu"}, CPU_ONLY, "GPU is left unused"),
        # PyPI's untagged Linux torch is a CUDA build: on a machine without a GPU it is GBs for nothing
        (NO_GPU, {"torch": "2.15.0"}, CPU_ONLY, "without an NVIDIA GPU"),
        # macOS wheels carry no tag: PyPI's are the CPU/MPS build
        (MAC, {"torch": "2.15.0", "torchvision": "0.29.2"}, RUNS, "cpu"),
        # companions of another build or another torch are the "operator does not exist" failure
        (RTX3090, {"torch": "2.14.1+cu126", "torchvision": "0.29.2+cpu"}, FAILS, "another build"),
        (RTX3090, {"torch": "2.14.1+cu126", "torchvision": "0.26.0+cu126"}, FAILS, "built for another torch"),
        # a build whose GPU list was carried over from older releases
        (RTX3090, {"torch": "2.15.0+cu126"}, INFERRED, "inferred"),
        (RTX3090, {"torch": "9.9.9+cu126"}, FAILS, "not a release"),
    ],
)
def test_the_judge_reads_the_snapshots_facts(
    machine: Machine, pins: dict[str, str], verdict: str, fragment: str
) -> None:
    got, why = Judge().verdict(machine, pins)
    assert (got, fragment in why) == (verdict, True), why


def test_the_newest_build_that_runs() -> None:
    judge = Judge()
    assert judge.newest(RTX5090) == ("2.11.0", ["cu128"])  # the last release with a CUDA 12 build for sm_120
    assert judge.newest(GTX1080) == ("2.14.1", ["cu126"])  # Pascal: cu126 only
    assert judge.newest(GTX1080, (RUNS, INFERRED))[0] == NEWEST  # if its cu126 keeps the old GPU list
    # macOS takes PyPI's own files, whose file lists are the facts: the newest release with them
    newest_mac = max(
        (v for v, r in judge.doc["releases"].items() if "macos_arm64" in r["variants"].get("cpu", {})), key=Version
    )
    assert judge.newest(MAC) == (newest_mac, ["cpu"])


H100 = Machine("h100", driver="580.65.06", gpus=(Gpu("H100", "9.0"),))


@pytest.mark.parametrize(
    ("pins", "verdict", "fragment"),
    [
        # the recorded pairing's builds are torch 2.11.0's, which had no cu132 (pytorch/pytorch#193651)
        ({"torch": "2.15.0+cu132", "torchaudio": "2.11.0+cu132"}, FAILS, "torchaudio 2.11.0 has no cu132 build"),
        # a companion release no pairing records (declared torch>=2.11 only): its variant builds are assumed
        ({"torch": "2.15.0+cu132", "torchaudio": "2.11.1+cu132"}, INFERRED, "torchaudio 2.11.1 has a cu132 build"),
        # PyPI's own files are facts: the untagged Linux wheels of both
        ({"torch": "2.15.0", "torchaudio": "2.11.1"}, RUNS, "cu132"),
        ({"torch": "2.14.1+cu130", "torchvision": "0.29.1+cu130", "torchaudio": "2.11.0+cu130"}, RUNS, "cu130"),
    ],
)
def test_the_judge_reads_companions_builds_too(pins: dict[str, str], verdict: str, fragment: str) -> None:
    got, why = Judge().verdict(H100, pins)
    assert (got, fragment in why) == (verdict, True), why


def test_the_newest_that_runs_counts_the_companions_builds() -> None:
    """torch 2.15.0 alone runs on an H100 as cu132, but no torchaudio of that build is on record."""
    judge = Judge()
    alone, alone_variants = judge.newest(H100, companions=())
    assert "cu132" in alone_variants
    release, variants = judge.newest(H100, (RUNS, INFERRED))
    assert Version(release) < Version(alone) or "cu132" not in variants
