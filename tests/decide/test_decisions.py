"""Decision defects found by trying torchpin as a new user would; each case failed before its fix.

Expectations come from the facts (NVIDIA's driver branches, the index's own pages), not from
what torchpin printed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.reliability.hostile import Hostile, html, page
from tests.support.cli import clean_env
from tests.support.cli import run as run_cli
from tests.support.fake_index import FakePytorchIndex
from tests.support.newest import AUDIO, NEXT, NEXT_VISION, PREVIOUS, VISION, requires_torch
from tests.support.newest import TORCH as NEWEST

LINUX = ["--no-detect", "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28"]
WINDOWS = ["--no-detect", "--python-version", "3.12", "--python-platform", "windows"]


def run(*args: str, env: dict[str, str] | None = None, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=clean_env("PIP_", "UV_", home=home), extra=env)


def pins(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "==" in line and not line.startswith(("#", "--"))]


# ---- Windows CUDA 13.x: the same preference as Linux (NVIDIA: 13.0 needs R580, 13.2 R595)


@pytest.mark.parametrize(
    ("driver", "variant"),
    [("580.97", "cu130"), ("581.57", "cu130"), ("595.97", "cu132")],
)
def test_windows_cuda13_follows_the_driver_branch(driver: str, variant: str) -> None:
    # torch 2.14.1 has cu130 and cu132 on both OSes: the driver branch picks between them.
    win = run("lock", "--offline", *WINDOWS, "--driver", driver, "--gpu-cc", "8.6", "torch==2.14.1")
    assert win.returncode == 0, win.stderr
    assert pins(win.stdout)[0] == f"torch==2.14.1+{variant}"
    linux = run("lock", "--offline", *LINUX, "--driver", driver, "--gpu-cc", "8.6", "torch==2.14.1")
    assert pins(linux.stdout)[0].split("+")[1] == variant  # one rule on both OSes


# ---- impossible and implausible input


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--gpu-cc", "99.9", "--driver", "580.95.05"], "no NVIDIA GPU has compute capability 99.9"),
        (["--gpu-cc", "14.0", "--driver", "580.95.05"], "no NVIDIA GPU has compute capability 14.0"),
        (["--driver", "999.1", "--gpu-cc", "8.6"], "no NVIDIA driver branch R999"),
        (["--driver", "100", "--gpu-cc", "8.6"], "no NVIDIA driver branch R100"),
        (["--amd-gfx", "gfx0000"], "not an AMD GPU architecture"),
        (["--amd-gfx", "gfx5ff"], "not an AMD GPU architecture"),
        (["--python-version", "3.99"], "no such CPython"),
    ],
)
def test_impossible_hardware_is_exit_2(args: list[str], fragment: str) -> None:
    r = run("lock", "--offline", *LINUX, *args)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert fragment in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_plausible_next_generation_gpu_is_warned_about() -> None:
    r = run("lock", "--offline", *LINUX, "--driver", "595.97", "--gpu-cc", "13.0", "torch")
    assert r.returncode == 0, r.stderr
    assert "# note: compute capability 13.0 is newer than any GPU" in r.stdout and "PTX JIT" in r.stdout


# ---- a companion's own page decides its availability


def test_a_partial_mirror_pairs_companions_by_their_own_pages(tmp_path: Path) -> None:
    # A corporate mirror with only torch 2.14.1 and torchaudio 2.11.0, both +cu130: torchaudio's
    # page has the build, even though torch 2.11.0 itself never had a cu130 one.
    fake = FakePytorchIndex()
    with Hostile() as h:
        for project, version in (("torch", "2.14.1"), ("torchaudio", "2.11.0")):
            lines = (fake.page("cu130", project, h.url) or "").splitlines()
            keep = [x.strip().removesuffix("<br/>") for x in lines if f"{project}-{version}+cu130-cp312" in x]
            assert keep, f"the fake index has no {project} {version} cu130 cp312 wheel"
            h.routes[f"/whl/cu130/{project}/"] = html(page(keep))
        r = run(
            "lock",
            "torch",
            "torchaudio",
            *LINUX,
            "--driver",
            "580.95.05",
            "--gpu-cc",
            "8.6",
            "--index-url",
            f"{h.url}/whl",
            "--no-fallback",
            home=tmp_path,
        )
    assert r.returncode == 0, r.stderr
    assert pins(r.stdout) == ["torch==2.14.1+cu130", "torchaudio==2.11.0+cu130"]


# ---- certificates: not transient, and the fallback says which bundle was used


def test_a_certificate_failure_is_not_retried_and_names_the_bundle(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme", reason="trustme makes the throw-away CAs (dev extra)")
    import ssl

    from tests.support.fake_index import FakeIndexServer

    server_ca, other_ca = trustme.CA(), trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ca.issue_cert("127.0.0.1").configure_cert(ctx)
    wrong = tmp_path / "wrong-ca.pem"
    other_ca.cert_pem.write_to_path(str(wrong))
    with FakeIndexServer(FakePytorchIndex(), tls=ctx) as srv:
        r = run(
            "lock",
            "torch",
            *LINUX,
            "--backend",
            "cpu",
            "--index-url",
            srv.base,
            home=tmp_path,
            env={"PIP_CERT": str(wrong)},
        )
    assert r.returncode == 0, r.stderr  # the snapshot still answers
    note = r.stderr.strip().splitlines()[0]
    assert "certificate verify failed" in note and "tries" not in note
    assert f"verified against {wrong} (from PIP_CERT)" in note and "locking from the embedded snapshot" in note


# ---- detect and lock agree


@pytest.mark.parametrize(
    "env",
    [
        {"TORCHPIN_CUDA_COMPAT": "strict", "TORCHPIN_DRIVER": "550.54.15", "TORCHPIN_GPU_CC": "8.6"},
        {"TORCHPIN_DRIVER": "570.86.15", "TORCHPIN_GPU_CC": "12.0"},
        {"TORCHPIN_PYTHON_PLATFORM": "aarch64-apple-darwin", "TORCHPIN_MACOS_VERSION": "11.0"},
        {"TORCHPIN_PYTHON_PLATFORM": "windows", "TORCHPIN_DRIVER": "560.94", "TORCHPIN_GPU_CC": "8.6"},
        {"TORCHPIN_AMD_GFX": "gfx1100", "TORCHPIN_PYTHON_PLATFORM": "linux"},
        {"TORCHPIN_BACKEND": "cpu", "TORCHPIN_PYTHON_VERSION": "3.10"},
        {"TORCHPIN_GLIBC": "2.17", "TORCHPIN_PYTHON_PLATFORM": "linux"},
        {"TORCHPIN_NO_DETECT": "1"},
    ],
    ids=["strict", "blackwell", "macos-11", "windows", "rocm", "cpu-py310", "old-glibc", "no-detect"],
)
def test_detect_would_choose_what_lock_locks(env: dict[str, str], tmp_path: Path) -> None:
    env = {"TORCHPIN_SYSROOT": str(tmp_path / "empty-root"), "PATH": "/nonexistent", **env}
    detect = run("detect", "--json", env=env)
    lock = run("lock", "--offline", "--format", "json", env=env)
    assert detect.returncode == 0, detect.stderr
    chosen = json.loads(detect.stdout)["would_choose"]
    if lock.returncode != 0:
        assert chosen.get("exit_code") == lock.returncode, (chosen, lock.stderr)
        return
    locked = json.loads(lock.stdout)
    assert chosen["backend"] == locked["backend"]
    assert chosen["packages"] == [f"{p['name']}=={p['version']}" for p in locked["packages"]]


# ---- every chosen file's own tags must fit (pip would find no wheel otherwise)


@pytest.mark.parametrize(
    ("args", "want"),
    [
        # PyPI's cp313 torchvision 0.24-0.26 / torchaudio 2.9-2.11 wheels need macOS 12.
        (
            ["--python-version", "3.13", "--python-platform", "aarch64-apple-darwin", "--macos-version", "11.0"],
            ["torch==2.8.0", "torchvision==0.23.0", "torchaudio==2.8.0"],
        ),
        # torch 2.10.0's cp314 wheel needs macOS 14: on 13 the newest below 2.11 is 2.9.1.
        (
            [
                "torch<2.11",
                "--python-version",
                "3.14",
                "--python-platform",
                "aarch64-apple-darwin",
                "--macos-version",
                "13.0",
            ],
            ["torch==2.9.1"],
        ),
        # CPython 3.7's ABI is cp37m: torch 1.13 has it.
        (
            ["--python-version", "3.7", "--python-platform", "linux", "--backend", "cpu"],
            ["torch==1.13.1+cpu", "torchvision==0.14.1+cpu", "torchaudio==0.13.1+cpu"],
        ),
    ],
    ids=["macos11-cp313-companions", "macos13-cp314-torch", "cp37m"],
)
def test_each_file_fits_the_target(args: list[str], want: list[str]) -> None:
    r = run("lock", "--offline", "--no-detect", *args)
    assert r.returncode == 0, r.stderr
    assert pins(r.stdout) == want


def test_accepted_tags_come_from_packaging() -> None:
    from torchpin.facts.wheels import python_accepts
    from torchpin.models import PythonTarget

    assert python_accepts({"cp37-cp37m"}, PythonTarget(3, 7))
    assert not python_accepts({"cp37-cp37m"}, PythonTarget(3, 8))
    assert python_accepts({"cp39-abi3"}, PythonTarget(3, 12))  # abi3 of an earlier CPython
    assert not python_accepts({"cp39-abi3"}, PythonTarget(3, 13, True))  # not on free-threaded
    assert python_accepts({"cp313-cp313t"}, PythonTarget(3, 13, True))
    assert not python_accepts({"cp313-cp313"}, PythonTarget(3, 13, True))
    assert python_accepts({"py3-none"}, PythonTarget(3, 13, True))


# ---- companions pair by their publisher's declaration


def test_the_trio_follows_the_declared_pairing() -> None:
    r = run("lock", "--offline", *LINUX, "--backend", "cpu", "--explain")
    assert r.returncode == 0, r.stderr
    assert pins(r.stdout) == [f"torch=={NEWEST}+cpu", f"torchvision=={VISION}+cpu", f"torchaudio=={AUDIO}+cpu"]
    declared = requires_torch("torchvision", VISION)
    assert f"torchvision {VISION} pairs with torch {NEWEST} by its own Requires-Dist: torch{declared}" in r.stderr


def test_every_declared_companion_release_is_tried() -> None:
    # torchcodec 0.16.0 has no cp313t wheel; 0.14.0 has one and declares torch>=2.11 too.
    r = run(
        "lock",
        "--offline",
        "--no-detect",
        "--python-version",
        "3.13t",
        "--python-platform",
        "linux",
        "--backend",
        "cpu",
        "torch",
        "torchcodec",
    )
    assert r.returncode == 0, r.stderr
    assert pins(r.stdout) == ["torch==2.12.0+cpu", "torchcodec==0.14.0+cpu"]


def test_a_companion_build_that_does_not_exist_is_never_locked() -> None:
    r = run("lock", "--offline", *LINUX, "--amd-gfx", "gfx942", "torch", "torchcodec")
    assert r.returncode == 3 and r.stdout == ""
    assert "torchcodec publishes no rocm builds" in r.stderr and "drop torchcodec" in r.stderr
    assert "upgrade the NVIDIA driver" not in r.stderr
    trio = run("lock", "--offline", *LINUX, "--amd-gfx", "gfx942")  # not asked for: the trio is fine
    assert trio.returncode == 0 and "torchcodec" not in trio.stdout


# ---- messages name the decisive gap and the fix that helps


@pytest.mark.parametrize(
    ("args", "says", "fix", "never"),
    [
        (
            ["--amd-gfx", "gfx1010"],
            "no kernels for gfx1010",
            "no ROCm build torchpin knows lists gfx1010",
            "NVIDIA driver",
        ),
        (["--amd-gfx", "gfx1031"], "no kernels for gfx1031", "HSA_OVERRIDE_GFX_VERSION=10.3.0", "NVIDIA driver"),
        (
            ["--driver", "580.95.05", "--gpu-cc", "5.0", "--gpu-cc", "12.0"],
            "cu132 has no kernels for sm_50; cu126 has no kernels for sm_120",
            "CUDA_VISIBLE_DEVICES",
            "upgrade the NVIDIA driver",
        ),
        (
            ["torch==2.15.0", "torchvision", "torchaudio", "--driver", "580.95.05", "--gpu-cc", "7.0"],
            "cu132 has no kernels for sm_70; cu126 for linux_x86_64 is unconfirmed (INFERRED) (drop --offline",
            "drop --offline so the live index can confirm cu126",
            "upgrade the NVIDIA driver",
        ),
        (
            ["--python-platform", "windows", "--amd-gfx", "gfx1100"],
            "ROCm builds for Linux x86_64 only",
            "--backend cpu",
            "supports CPython",
        ),
        (
            ["--python-platform", "aarch64-manylinux_2_28", "--amd-gfx", "gfx1100"],
            "ROCm builds for Linux x86_64 only",
            "--backend cpu",
            "supports CPython",
        ),
    ],
    ids=["rdna1", "rdna2-override", "gpu-mix", "unconfirmed-is-the-gap", "amd-windows", "amd-aarch64"],
)
def test_exit_3_names_the_decisive_gap(args: list[str], says: str, fix: str, never: str) -> None:
    base = [a for a in LINUX if a not in ("--python-platform", "x86_64-manylinux_2_28")]
    platform = [] if "--python-platform" in args else ["--python-platform", "x86_64-manylinux_2_28"]
    r = run("lock", "--offline", *base, *platform, *args)
    assert r.returncode == 3 and r.stdout == "", r.stderr
    assert says in r.stderr and fix in r.stderr and never not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_newer_driver_that_unlocks_a_newer_build_is_named() -> None:
    r = run("lock", "--offline", *LINUX, "--driver", "570.86.15", "--gpu-cc", "12.0")
    assert r.returncode == 0, r.stderr
    assert pins(r.stdout)[0] == "torch==2.11.0+cu128"
    # cu132 has no torchaudio (pytorch/pytorch#193651), so the trio's best on 580 is cu130.
    assert "# note: driver 580 or newer would give torch 2.14.1+cu130 (this driver: 570.86.15)" in r.stdout
    fine = run("lock", "--offline", *LINUX, "--driver", "595.71.05", "--gpu-cc", "12.0")
    assert "or newer would give" not in fine.stdout  # nothing newer to unlock


def test_a_driver_that_rules_a_build_out_is_the_reason_not_its_status() -> None:
    # T4 on 470: 2.15.0's cu126 is unconfirmed offline, but the driver alone rules it out.
    r = run("lock", "--offline", "--format", "json", *LINUX, "--driver", "470.57.02", "--gpu-cc", "7.5")
    doc = json.loads(r.stdout)
    reasons = {(x["torch"], x["backend"]): x["reason"] for x in doc["rejected"]}
    assert reasons[("2.15.0", "cu126")].startswith("driver 470.57.02 < 525.60.13")


# ---- yanked files and releases: skipped unless pinned exactly (pip's rule, PEP 592)


@pytest.mark.parametrize(
    ("reqs", "want"),
    [
        (["torch==2.0.0", "torchaudio==2.0.0"], ["torch==2.0.0+cpu", "torchaudio==2.0.0+cpu"]),  # exact: allowed
        (["torch<2.1", "torchaudio<2.0.1"], ["torch==1.13.1+cpu", "torchaudio==0.13.1+cpu"]),  # a range skips it
    ],
    ids=["exact-pin", "range"],
)
def test_a_yanked_companion_release_needs_an_exact_pin(reqs: list[str], want: list[str]) -> None:
    r = run(
        "lock",
        "--offline",
        "--no-detect",
        "--python-version",
        "3.10",
        "--python-platform",
        "linux",
        "--backend",
        "cpu",
        *reqs,
    )
    assert r.returncode == 0, r.stderr
    assert pins(r.stdout) == want


def test_a_yanked_file_on_the_index_needs_an_exact_pin(tmp_path: Path) -> None:
    fake = FakePytorchIndex()
    with Hostile() as h:
        lines = [x.strip().removesuffix("<br/>") for x in (fake.page("cpu", "torch", h.url) or "").splitlines()]
        links = [
            x.replace("<a ", '<a data-yanked="broken build" ', 1) if f">torch-{NEWEST}+cpu-" in x else x
            for x in lines
            if x.startswith("<a ")
        ]
        h.routes["/whl/cpu/torch/"] = html(page(links))
        args = [*LINUX, "--backend", "cpu", "--index-url", f"{h.url}/whl", "--no-fallback"]
        skipped = run("lock", "torch", *args, home=tmp_path)
        pinned = run("lock", f"torch=={NEWEST}", *args, home=tmp_path)
    assert skipped.returncode == 0, skipped.stderr
    assert pins(skipped.stdout) == [f"torch=={PREVIOUS}+cpu"]
    assert pinned.returncode == 0, pinned.stderr
    assert pins(pinned.stdout) == [f"torch=={NEWEST}+cpu"]


# ---- a companion release only the index knows pairs by its live sidecar's Requires-Dist


def _mirror_with_new_torchvision(h: Hostile, fake: FakePytorchIndex, declares: str) -> str:
    def links(project: str) -> list[str]:
        text = fake.page("cpu", project, h.url) or ""
        return [x.strip().removesuffix("<br/>") for x in text.splitlines() if x.strip().startswith("<a ")]

    new = f"torchvision-{NEXT_VISION}+cpu-cp312-cp312-manylinux_2_28_x86_64.whl"
    href = f"/whl/cpu/{new.replace('+', '%2B')}"
    h.routes["/whl/cpu/torch/"] = html(page(links("torch")))
    anchor = f'<a href="{href}" data-core-metadata="true">{new}</a>'
    h.routes["/whl/cpu/torchvision/"] = html(page([*links("torchvision"), anchor]))
    metadata = f"Metadata-Version: 2.1\nName: torchvision\nVersion: {NEXT_VISION}+cpu\n"
    metadata += f"Requires-Dist: numpy\nRequires-Dist: {declares}\n"
    h.routes[href + ".metadata"] = html(metadata)
    return href + ".metadata"


@pytest.mark.parametrize(
    ("declares", "want"),
    [(f"torch>={NEWEST}", f"torchvision=={NEXT_VISION}+cpu"), (f"torch>={NEXT}", f"torchvision=={VISION}+cpu")],
    ids=["admits", "excludes"],
)
def test_a_new_companion_pairs_by_its_live_sidecar(tmp_path: Path, declares: str, want: str) -> None:
    fake = FakePytorchIndex()
    with Hostile() as h:
        sidecar = _mirror_with_new_torchvision(h, fake, declares)
        args = [
            "lock",
            "torch",
            "torchvision",
            *LINUX,
            "--backend",
            "cpu",
            "--index-url",
            f"{h.url}/whl",
            "--no-fallback",
            "--explain",
        ]
        r = run(*args, home=tmp_path)
        again = run(*args, home=tmp_path)
        reads = [s.target for s in h.seen if s.target.endswith(sidecar)]
    assert r.returncode == 0, r.stderr
    assert pins(r.stdout) == [f"torch=={NEWEST}+cpu", want]
    if want.startswith(f"torchvision=={NEXT_VISION}"):
        assert f"torchvision {NEXT_VISION} pairs with torch {NEWEST} by its own Requires-Dist: {declares}" in r.stderr
    assert again.stdout == r.stdout and len(reads) == 1  # the sidecar is cached: it never changes
