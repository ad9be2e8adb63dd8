"""The selection policy, table-driven against the shipped snapshot (pure: no I/O, no GPU)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

from tests.conftest import target
from tests.support.newest import AUDIO, VISION, newest_declaring, newest_release
from tests.support.newest import TORCH as NEWEST
from torchpin.decide.select import select
from torchpin.errors import NoCompatibleBuild
from torchpin.facts.snapshot import Catalog
from torchpin.models import Plan, Requirement, Target


def reqs(*texts: str) -> list[Requirement]:
    out = []
    for t in texts:
        name = t.split("=")[0].split(">")[0].split("<")[0].split("!")[0]
        out.append(Requirement(name, SpecifierSet(t[len(name) :])))
    return out


def pins(plan: Plan) -> list[str]:
    return [f"{p.project}=={p.version}" for p in plan.pins]


TRIO = ("torch", "torchvision", "torchaudio")
PYPI_VISION, PYPI_AUDIO = newest_declaring("torchvision"), newest_declaring("torchaudio")

# (why this case matters, target, requirements, expected index suffix, expected pins)
CHOICES: list[tuple[str, Target, tuple[str, ...], str, list[str]]] = [
    (
        "no GPU on Linux: the newest +cpu trio, companions as recorded for it",
        target("3.12"),
        (),
        "/whl/cpu",
        [f"torch=={NEWEST}+cpu", f"torchvision=={VISION}+cpu", f"torchaudio=={AUDIO}+cpu"],
    ),
    (
        "torch alone has no companion to wait for: the newest release",
        target("3.12"),
        ("torch",),
        "/whl/cpu",
        [f"torch=={NEWEST}+cpu"],
    ),
    (
        "driver 525.60.13 is CUDA 12 but 2.0.1 has only 11.x builds: the newest older-major one",
        target("3.10", driver="525.60.13", cc=("8.6",)),
        ("torch==2.0.1", "torchvision", "torchaudio"),
        "/whl/cu118",
        ["torch==2.0.1+cu118", "torchvision==0.15.2+cu118", "torchaudio==2.0.2+cu118"],
    ),
    (
        "Apple silicon: PyPI's wheels, no local tag",
        target("3.12", "macos", "aarch64"),
        (),
        "pypi.org/simple",
        [f"torch=={NEWEST}", f"torchvision=={PYPI_VISION}", f"torchaudio=={PYPI_AUDIO}"],  # PyPI's files confirm them
    ),
    (
        "Blackwell on a 570 driver: cu126 lacks sm_120 and CUDA 13 needs 580, so 2.11.0's cu128",
        target("3.12", driver="570.86.15", cc=("12.0",)),
        TRIO,
        "/whl/cu128",
        ["torch==2.11.0+cu128", "torchvision==0.26.0+cu128", "torchaudio==2.11.0+cu128"],
    ),
    (
        "Pascal on a 580 driver: cu128/cu13x have no sm_6x, cu126 does",
        target("3.12", driver="580.65.06", cc=("6.1",)),
        TRIO,
        "/whl/cu126",
        ["torch==2.14.1+cu126", "torchvision==0.29.1+cu126", "torchaudio==2.11.0+cu126"],
    ),
    (
        "Windows GPU: a +cu126 wheel from the PyTorch index, not PyPI's CPU wheel",
        target("3.12", "windows", driver="560.94", cc=("8.6",)),
        TRIO,
        "/whl/cu126",
        ["torch==2.14.1+cu126", "torchvision==0.29.1+cu126", "torchaudio==2.11.0+cu126"],
    ),
    (
        "a new driver gets the newest CUDA 13 build it fully supports that has the trio (cu132 has no torchaudio)",
        target("3.12", driver="595.71.05", cc=("9.0",)),
        TRIO,
        "/whl/cu130",
        ["torch==2.14.1+cu130", "torchvision==0.29.1+cu130", "torchaudio==2.11.0+cu130"],
    ),
    (
        "a new driver gets the newest CUDA 13 build it fully supports",
        target("3.12", driver="595.71.05", cc=("9.0",)),
        ("torch", "torchvision"),
        "/whl/cu132",
        [f"torch=={NEWEST}+cu132", f"torchvision=={VISION}+cu132"],
    ),
    (
        "driver 580.65.06 fully supports cu130 only: 13.2 runs by minor-version compat, 13.0 is preferred",
        target("3.12", driver="580.65.06", cc=("9.0",)),
        ("torch",),
        "/whl/cu132",
        [f"torch=={NEWEST}+cu132"],
    ),
    (
        "strict rule: 550.54.15 < cu126's toolkit minimum; the newest release with a build it fully supports wins",
        target("3.12", driver="550.54.15", cc=("8.9",), strict=True),
        ("torch",),
        "/whl/cu118",
        ["torch==2.7.1+cu118"],
    ),
    (
        "strict rule within one release: 2.6.0 offers cu124 (full on 550.54.15) over cu126 (not)",
        target("3.12", driver="550.54.15", cc=("8.9",), strict=True),
        ("torch==2.6.0",),
        "/whl/cu124",
        ["torch==2.6.0+cu124"],
    ),
    (
        "same machine, minor rule: cu126 runs on 550 by minor-version compatibility",
        target("3.12", driver="550.54.15", cc=("8.9",)),
        ("torch",),
        "/whl/cu126",
        ["torch==2.14.1+cu126"],
    ),
    (
        "every GPU must be covered: a Pascal beside an Ampere keeps the machine on cu126",
        target("3.12", driver="580.65.06", cc=("8.6", "6.1")),
        ("torch",),
        "/whl/cu126",
        ["torch==2.14.1+cu126"],
    ),
    (
        "Volta: cu13x dropped sm_70; 2.15.0's cu126 is unconfirmed, 2.14.1's is not",
        target("3.12", driver="580.65.06", cc=("7.0",)),
        ("torch",),
        "/whl/cu126",
        ["torch==2.14.1+cu126"],
    ),
    (
        "asked for CPU on a GPU machine: allowed because asked",
        target("3.12", driver="580.65.06", cc=("8.6",), backend="cpu"),
        ("torch",),
        "/whl/cpu",
        [f"torch=={NEWEST}+cpu"],
    ),
    (
        "Docker build: --backend cu128 with no GPU visible checks neither driver nor arch",
        target("3.12", backend="cu128"),
        ("torch",),
        "/whl/cu128",
        ["torch==2.11.0+cu128"],
    ),
    (
        "old glibc 2.17: 2.7+ needs 2.28, so 2.6.0",
        target("3.12", glibc="2.17"),
        ("torch",),
        "/whl/cpu",
        ["torch==2.6.0+cpu"],
    ),
    (
        "Intel macOS: the last wheels are 2.2.2, from PyPI",
        target("3.11", "macos", "x86_64"),
        TRIO,
        "pypi.org/simple",
        ["torch==2.2.2", "torchvision==0.17.2", "torchaudio==2.2.2"],
    ),
    (
        "Linux aarch64 CPU up to 2.5 had no local tag: PyPI",
        target("3.10", "linux", "aarch64"),
        ("torch<2.6",),
        "pypi.org/simple",
        ["torch==2.5.1"],
    ),
    (
        "Linux aarch64 CPU from 2.6 on is +cpu on the cpu index",
        target("3.12", "linux", "aarch64"),
        ("torch",),
        "/whl/cpu",
        [f"torch=={NEWEST}+cpu"],
    ),
    (
        "free-threaded 3.14t: torch and torchvision have cp314t wheels",
        target("3.14t"),
        ("torch", "torchvision"),
        "/whl/cpu",
        [f"torch=={NEWEST}+cpu", f"torchvision=={VISION}+cpu"],
    ),
    (
        "AMD gfx1100: the newest ROCm whose gfx list has it (rocm7.14's list is unknown)",
        target("3.12", gfx=("gfx1100",)),
        TRIO,
        "/whl/rocm7.2",
        ["torch==2.14.1+rocm7.2", "torchvision==0.29.1+rocm7.2", "torchaudio==2.11.0+rocm7.2"],
    ),
    (
        "a companion alone implies torch; its version picks the release",
        target("3.12"),
        ("torchvision==0.20.1",),
        "/whl/cpu",
        ["torch==2.5.1+cpu", "torchvision==0.20.1+cpu"],
    ),
    (
        "an exact local pin chooses the variant",
        target("3.12", driver="580.65.06", cc=("8.6",)),
        ("torch==2.5.1+cu121",),
        "/whl/cu121",
        ["torch==2.5.1+cu121"],
    ),
    (
        "Python 3.13 wheels of 2.5 exist only on the PyTorch index (experimental)",
        target("3.13"),
        ("torch<2.6",),
        "/whl/cpu",
        ["torch==2.5.1+cpu"],
    ),
]


@pytest.mark.parametrize(("why", "tgt", "req", "index", "expected"), CHOICES, ids=[c[0][:60] for c in CHOICES])
def test_choices(
    catalog: Catalog, why: str, tgt: Target, req: tuple[str, ...], index: str, expected: list[str]
) -> None:
    plan = select(tgt, catalog, reqs(*req))
    assert plan.index_url.endswith(index), (why, plan.index_url, plan.why)
    assert pins(plan) == expected, (why, plan.why)


# (why, target, requirements, exit message fragments)
FAILURES: list[tuple[str, Target, tuple[str, ...], tuple[str, ...]]] = [
    (
        "a requirement no release satisfies names the newest one",
        target("3.12"),
        ("torch>=3",),
        ("no torch release satisfies 'torch>=3'", f"newest known is {NEWEST}"),
    ),
    (
        "a companion requirement no release satisfies",
        target("3.12"),
        ("torchaudio==9.9",),
        ("no torchaudio release satisfies", f"newest known is {newest_release('torchaudio')}"),
    ),
    (
        "Python 3.6 predates every release in range",
        target("3.6"),
        ("torch",),
        ("no torch release here supports CPython 3.6", "cover CPython 3.7 to 3.15"),
    ),
    (
        "Python 3.99 has no wheel anywhere",
        target("3.99"),
        ("torch",),
        ("no torch release here supports CPython 3.99",),
    ),
    (
        "Intel macOS after 2.2.2 has no wheels",
        target("3.11", "macos", "x86_64"),
        ("torch>=2.3",),
        ("no wheels for macos_x86_64",),
    ),
    (
        "glibc too old for the requested release",
        target("3.12", glibc="2.17"),
        ("torch>=2.7",),
        ("needs glibc 2.28, target has 2.17",),
    ),
    (
        "driver older than any CUDA build names the minimum",
        target("3.12", driver="418.87", cc=("7.5",)),
        ("torch",),
        ("NVIDIA driver 418.87 is older than any CUDA build", "minimum 450.80.02", "--backend cpu"),
    ),
    (
        "a GPU no build supports is never silently given a CPU build",
        target("3.12", driver="580.65.06", cc=("3.5",)),
        ("torch",),
        ("has no kernels for sm_35", "--backend cpu"),
    ),
    (
        "Jetson Orin (8.7): PyTorch's index has no sm_87 build",
        target("3.10", "linux", "aarch64", driver="540.4.0", cc=("8.7",)),
        ("torch",),
        ("no builds for Jetson iGPUs (sm_87)", "NVIDIA's Jetson wheels"),
    ),
    (
        "a forced backend the release lacks",
        target("3.12", backend="cu118"),
        ("torch>=2.8",),
        ("no cu118 build for linux_x86_64",),
    ),
    (
        "Windows on Arm: PyTorch publishes nothing for it",
        target("3.12", "windows", "aarch64"),
        ("torch",),
        ("no wheels for win_arm64",),
    ),
    (
        "strict mode: Blackwell needs cu128+, whose toolkit needs a newer driver than 560.35.05",
        target("3.12", driver="560.35.05", cc=("12.0",), strict=True),
        ("torch",),
        ("driver 560.35.05 <", "its toolkit minimum", "upgrade the NVIDIA driver to"),
    ),
]


@pytest.mark.parametrize(("why", "tgt", "req", "fragments"), FAILURES, ids=[f[0][:60] for f in FAILURES])
def test_failures(catalog: Catalog, why: str, tgt: Target, req: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    with pytest.raises(NoCompatibleBuild) as err:
        select(tgt, catalog, reqs(*req))
    assert err.value.exit_code == 3
    for fragment in fragments:
        assert fragment in str(err.value), (why, str(err.value))


def test_rejections_name_each_pair_passed_over(catalog: Catalog) -> None:
    plan = select(target("3.12", driver="570.86.15", cc=("12.0",)), catalog, reqs(*TRIO))
    by_pair = {(r.release, r.variant): r.reason for r in plan.rejected}
    assert "no kernels for sm_120" in by_pair[("2.14.1", "cu126")]
    assert "driver 570.86.15 < 580" in by_pair[("2.14.1", "cu130")]
    assert "unconfirmed" in by_pair[("2.15.0", "cu126")]
    # Nothing at or below the chosen release's own winner is listed as passed over.
    assert ("2.11.0", "cu128") not in by_pair
    assert all(r.reason for r in plan.rejected)


Edit = Callable[[dict[str, Any]], None]


def _drop_audio_cu126(doc: dict[str, Any]) -> None:
    del doc["releases"]["2.11.0"]["variants"]["cu126"]["linux_x86_64"]


def _unconfirm_cu126(doc: dict[str, Any]) -> None:
    doc["releases"]["2.14.1"]["variants"]["cu126"]["linux_x86_64"]["status"] = "unconfirmed"


def test_companion_without_a_build_for_the_variant_rejects_the_release(
    edited_catalog: Callable[[Edit], Catalog],
) -> None:
    # torchaudio 2.11.0 (paired with 2.12+) is built with torch 2.11.0: without a cu126 build
    # there, no 2.12+ release can offer the trio on cu126, and the trio never comes out incomplete.
    cat = edited_catalog(_drop_audio_cu126)
    plan = select(target("3.12", driver="580.65.06", cc=("6.1",)), cat, reqs(*TRIO))
    assert pins(plan)[0] == "torch==2.10.0+cu126"
    reasons = [r.reason for r in plan.rejected if r.release == "2.14.1" and r.variant == "cu126"]
    # 2.11.1 (newer than the recorded pairing) has no confirmed cu126 build offline; 2.11.0 none at all.
    assert reasons == ["torchaudio 2.11.1 has no cu126 build for linux_x86_64"] or reasons[0].startswith(
        "torchaudio 2.11.1 has no confirmed cu126 build"
    )
    # torch alone is unaffected.
    assert pins(select(target("3.12", driver="580.65.06", cc=("6.1",)), cat, reqs("torch")))[0] == "torch==2.14.1+cu126"


def test_unconfirmed_variant_is_not_used_offline(edited_catalog: Callable[[Edit], Catalog]) -> None:
    cat = edited_catalog(_unconfirm_cu126)
    plan = select(target("3.12", driver="580.65.06", cc=("6.1",)), cat, reqs("torch"))
    assert pins(plan) == ["torch==2.14.0+cu126"]
    assert any("unconfirmed" in r.reason for r in plan.rejected if r.release == "2.14.1")


def test_macos_plan_carries_pypi_hashes(catalog: Catalog) -> None:
    plan = select(target("3.12", "macos", "aarch64"), catalog, reqs(*TRIO))
    torch = plan.pins[0].wheel
    assert torch is not None
    assert torch.filename == f"torch-{NEWEST}-cp312-cp312-macosx_14_0_arm64.whl"
    assert torch.sha256 is not None and len(torch.sha256) == 64
    assert torch.url is not None and torch.url.startswith("https://files.pythonhosted.org/packages/")


def test_known_variant_file_is_attached(catalog: Catalog) -> None:
    # index_format's real cu128 URL + sha256 for 2.8.0 cp313 on manylinux_2_28 x86_64
    plan = select(target("3.13", driver="580.65.06", cc=("8.6",), backend="cu128"), catalog, reqs("torch==2.8.0"))
    wheel = plan.pins[0].wheel
    assert wheel is not None and wheel.filename == "torch-2.8.0+cu128-cp313-cp313-manylinux_2_28_x86_64.whl"
    assert (
        wheel.url == "https://download.pytorch.org/whl/cu128/torch-2.8.0%2Bcu128-cp313-cp313-manylinux_2_28_x86_64.whl"
    )


def test_unknown_variant_file_is_none_not_guessed(catalog: Catalog) -> None:
    plan = select(target("3.12"), catalog, reqs("torch"))
    assert plan.pins[0].wheel is None


def test_musl_gets_its_own_advice(catalog: Catalog) -> None:
    from dataclasses import replace

    t = target("3.12")
    t = replace(t, platform=replace(t.platform, musl=True))
    with pytest.raises(NoCompatibleBuild) as err:
        select(t, catalog, reqs("torch"))
    assert "no musllinux (Alpine) wheels" in str(err.value) and "glibc-based image" in str(err.value)
