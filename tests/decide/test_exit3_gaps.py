"""Exit 3 names the deciding gap, and --explain lists the rejections it sends the user to (issue
17, items 2-4). Each row: the target flags, what the message must say, what it must not."""

from __future__ import annotations

import pytest

from tests.support.cli import run

OFFLINE = ("lock", "--offline", "--no-detect", "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28")
RTX_50 = ("--driver", "580.65.06", "--gpu-cc", "12.0")

GAPS = [
    (
        "cu121-pin-on-blackwell",
        [*RTX_50, "torch==2.5.1+cu121"],
        ["cu121 has no kernels for sm_120", "drop the 'torch==2.5.1+cu121' pin"],
        ["is excluded by"],
    ),
    (
        "cpu-pin-on-a-gpu-machine",
        ["--driver", "580.65.06", "--gpu-cc", "8.6", "torch==2.5.1+cpu"],
        ["asks for a cpu build", "gets CUDA builds", "add --backend cpu"],
        ["loosen the version requirement"],
    ),
    (
        "rocm6.2-pin-lacks-gfx1101",
        ["--amd-gfx", "gfx1101", "torch==2.5.1+rocm6.2"],
        ["rocm6.2 has no kernels for gfx1101"],
        ["is excluded by"],
    ),
    (
        "torchcodec-lacks-3.14t-on-windows",
        ["--python-platform", "windows", "--python-version", "3.14t", "--backend", "cpu", "torch", "torchcodec"],
        ["torchcodec 0.16.0 has no CPython 3.14t wheel", "drop torchcodec"],
        ["no torch release here supports", "--backend cpu;"],
    ),
    (
        "forced-rocm-old-python-names-the-build",
        ["--python-version", "3.10", "--backend", "rocm5.7", "--amd-gfx", "gfx1101", "torch"],
        ["rocm5.7"],
        ["requires Python >=3.11"],
    ),
    (
        "rocm5.x-pin-lacks-gfx1100-points-at-the-pin-not-an-override",
        ["--python-version", "3.10", "--amd-gfx", "gfx1100", "torch==2.0.1"],
        ["rocm5.4.2 has no kernels for gfx1100", "another ROCm build lists gfx1100: drop or widen the 'torch==2.0.1'"],
        ["HSA_OVERRIDE_GFX_VERSION", "pin an older torch"],
    ),
    (
        "a-gfx-no-rocm-list-has",
        ["--amd-gfx", "gfx803", "torch"],
        ["has no kernels for gfx803", "no ROCm build torchpin knows lists gfx803"],
        ["HSA_OVERRIDE_GFX_VERSION", "pin an older torch"],
    ),
    (
        "forced-rocm5.2-names-its-only-release",
        ["--backend", "rocm5.2", "torch"],
        ["torch 1.13.1", "no CPython 3.12 wheel"],
        ["torch 2.1.2"],
    ),
]


@pytest.mark.parametrize(("case", "args", "says", "never"), GAPS, ids=[g[0] for g in GAPS])
def test_exit_3_names_the_deciding_gap(case: str, args: list[str], says: list[str], never: list[str]) -> None:
    r = run(*OFFLINE, *args)
    assert r.returncode == 3 and r.stdout == "", r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    for text in says:
        assert text in r.stderr, (text, r.stderr)
    for text in never:
        assert text not in r.stderr, (text, r.stderr)
    assert r.stderr.count("drop --offline") <= 1, r.stderr  # each thing said once


@pytest.mark.parametrize("backend", ["rocm5.7", "rocm5.6", "rocm5.4.2", "rocm5.2"])
def test_a_forced_rocm_backend_with_no_gpu_named_needs_no_gfx_list(backend: str) -> None:
    python = "3.10" if backend != "rocm5.2" else "3.9"
    r = run("lock", "--offline", "--no-detect", "--backend", backend, "--python-version", python, "torch")
    assert r.returncode == 0 and f"+{backend}" in r.stdout, r.stderr


def test_explain_on_a_failure_lists_the_rejections() -> None:
    r = run(*OFFLINE, *RTX_50, "torch==2.5.1+cu121", "--explain")
    assert r.returncode == 3, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0] == "rejected (newest first):" and len(lines) > 3
    assert any("cu121" in line and "no kernels for sm_120" in line for line in lines[1:-1])
    assert lines[-1].startswith("torchpin: error:") and "--explain lists" not in lines[-1]  # it just did


def test_explain_on_success_says_why_each_companion_is_that_version() -> None:
    r = run(*OFFLINE, "--backend", "cpu", "torch", "torchaudio", "torchcodec", "--explain")
    assert r.returncode == 0, r.stderr
    pairing = [line for line in r.stderr.splitlines() if line.startswith("pairing: ")]
    assert [line.split()[1] for line in pairing] == ["torchaudio", "torchcodec"]
    assert all(" pairs with torch " in line for line in pairing)


@pytest.mark.parametrize(("cuda", "noted"), [("12.8", True), ("13.0", False)])
def test_a_cuda_image_hint_alone_says_when_the_build_lacks_blackwell(cuda: str, noted: bool) -> None:
    r = run("lock", "--offline", "--python-version", "3.12", "torch", extra={"CUDA_VERSION": cuda})
    assert r.returncode == 0, r.stderr
    notes = [line for line in r.stdout.splitlines() if "Blackwell" in line]
    assert len(notes) == int(noted), r.stdout
    if noted:
        assert "--gpu-cc 12.0 (RTX 50xx)" in notes[0] and "--gpu-cc 10.0 (B200)" in notes[0]


@pytest.mark.parametrize(
    ("args", "pin"),
    [
        (["--python-version", "3.10", "--amd-gfx", "gfx1030", "torch==2.0.1"], "torch==2.0.1+rocm5.4.2"),
        (["--python-version", "3.10", "--amd-gfx", "gfx1100", "torch==2.2.2"], "torch==2.2.2+rocm5.7"),
        (["--python-version", "3.10", "--amd-gfx", "gfx90a", "torch==1.13.1"], "torch==1.13.1+rocm5.2"),
    ],
)
def test_rocm_5_gfx_lists_are_known(args: list[str], pin: str) -> None:
    """Issue 17, item 9: the ROCm 5.x gfx lists from pytorch/builder's build_docker.sh decide
    (before, every pinned ROCm 5.x release was 'the gfx list is not known')."""
    r = run(*OFFLINE, *args)
    assert r.returncode == 0, r.stderr
    assert pin in r.stdout.splitlines()
