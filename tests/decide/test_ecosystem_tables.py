"""Ecosystem packages whose wheels declare no torch (torchao, fbgemm-gpu, fbgemm-gpu-genai,
torchrec), paired with the chosen torch by their publisher's compatibility table (issue 27, item 2):
decisions on the snapshot's recorded facts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import target
from torchpin.decide.search import requirement_map
from torchpin.decide.select import select
from torchpin.errors import NoCompatibleBuild
from torchpin.facts.catalog import Catalog
from torchpin.models import Plan, Requirement

GPU = target(driver="580.65", cc=("8.6",))


def _reqs(*lines: str) -> list[Requirement]:
    from packaging.requirements import Requirement as Line

    return [Requirement(r.name, r.specifier) for r in map(Line, lines)]


def _pin(plan: Plan, project: str) -> str:
    return next(p.version for p in plan.pins if p.project == project)


def _paired(catalog: Catalog, plan: Plan, project: str) -> None:
    """The pinned release's table names the chosen torch, and the pin is the variant's own build."""
    version = _pin(plan, project)
    public, _, local = version.partition("+")
    files = catalog.project(project, public)
    assert files is not None and files.requires_torch is None and files.paired_torch is not None
    assert files.paired_torch.contains(Version(plan.release))
    assert local == plan.variant.name


def test_fbgemm_gpu_pairs_by_fbgemms_table_and_says_what_holds_torch_back(catalog: Catalog) -> None:
    alone = select(GPU, catalog, _reqs("torch"))
    plan = select(GPU, catalog, _reqs("torch", "fbgemm-gpu"))
    assert (plan.release, _pin(plan, "fbgemm-gpu")) == ("2.11.0", f"1.6.0+{plan.variant}")
    _paired(catalog, plan, "fbgemm-gpu")
    assert any(f"fbgemm-gpu holds torch back: without it, torch would be {alone.release}" in n for n in plan.notes)
    assert any("by fbgemm-gpu's compatibility table" in w for w in plan.companions_why)


@pytest.mark.parametrize(
    ("torch", "fbgemm"),
    [
        ("2.4.1", "0.8.0"),
        ("2.5.1", "1.0.0"),
        ("2.6.0", "1.1.0"),
        ("2.7.1", "1.2.0"),
        ("2.8.0", "1.3.0"),
        ("2.9.1", "1.4.0"),
        ("2.10.0", "1.5.0"),
        ("2.11.0", "1.6.0"),
    ],
)
def test_each_torch_minor_gets_the_fbgemm_release_line_its_table_names(
    catalog: Catalog, torch: str, fbgemm: str
) -> None:
    """A patch release of the line counts (1.4.2 would, but PyPI has it yanked: pip skips it)."""
    plan = select(GPU, catalog, _reqs(f"torch=={torch}", "fbgemm-gpu"))
    assert _pin(plan, "fbgemm-gpu").split("+")[0] == fbgemm
    _paired(catalog, plan, "fbgemm-gpu")


def test_a_release_no_table_row_names_is_never_paired(catalog: Catalog) -> None:
    """fbgemm-gpu 1.9.0 is on PyPI, but FBGEMM's table stops at 1.6.0: no torch is paired with it."""
    assert catalog.project("fbgemm-gpu", "1.9.0") is not None
    with pytest.raises(NoCompatibleBuild) as e:
        select(GPU, catalog, _reqs("torch==2.13.0", "fbgemm-gpu"))
    assert "no fbgemm-gpu release is paired with torch 2.13.0" in e.value.message


def test_torchrec_brings_the_fbgemm_gpu_it_requires() -> None:
    specs = requirement_map(_reqs("torch", "torchrec"))
    assert set(specs) == {"torch", "torchrec", "fbgemm-gpu"}
    assert set(requirement_map(_reqs("torchrec", "fbgemm-gpu>=1.5"))["fbgemm-gpu"]) == set(SpecifierSet(">=1.5"))


def test_torchao_on_a_variant_index_needs_the_live_index(catalog: Catalog) -> None:
    """Which variants each torchao release was uploaded to is unconfirmed: offline is no answer."""
    with pytest.raises(NoCompatibleBuild) as e:
        select(GPU, catalog, _reqs("torch", "torchao"))
    assert e.value.exit_code == 3 and "torchao" in e.value.message
    newest = [r for r in e.value.rejections if r.release == "2.14.1" and r.variant == "cu130"]
    assert newest and newest[0].kind == "status" and "torchao 0.18.0" in newest[0].reason
    assert "needs the live index" in newest[0].reason


@pytest.mark.parametrize(
    ("torch", "torchao"),
    [
        ("2.8.0", "0.14.0"),
        ("2.9.0", "0.14.1"),
        ("2.9.1", "0.15.0"),
        ("2.10.0", "0.16.0"),
        ("2.11.0", "0.18.0"),
        ("2.15.0", "0.18.0"),
        ("2.6.0", "0.12.0"),
        ("2.7.1", "0.12.0"),
    ],
)
def test_torchao_pairs_by_the_torch_its_cpp_extensions_load_with(
    edited_catalog: Callable[[Callable[[dict[str, Any]], None]], Catalog], torch: str, torchao: str
) -> None:
    """<=0.16 loads its C++ ops with one exact torch release, >=0.17 with any torch >= 2.11
    (its import-time check); the builds are taken as confirmed here to test the pairing alone."""

    def confirm(doc: dict[str, Any]) -> None:
        for body in doc["projects"]["torchao"].values():
            if "variant_builds" in body:
                body["variant_builds"]["status"] = "confirmed"
                body["variant_builds"]["variants"] = ["cpu", "cu126", "cu128", "cu130", "cu132"]

    plan = select(target(backend="cpu"), edited_catalog(confirm), _reqs(f"torch=={torch}", "torchao"))
    assert _pin(plan, "torchao") == f"{torchao}+cpu"
    _paired(edited_catalog(confirm), plan, "torchao")


def test_torch_27_0_has_no_torchao(catalog: Catalog) -> None:
    with pytest.raises(NoCompatibleBuild) as e:
        select(target(os="macos", arch="aarch64"), catalog, _reqs("torch==2.7.0", "torchao"))
    assert "no torchao release is paired with torch 2.7.0" in e.value.message


def test_on_macos_torchao_comes_from_pypi_beside_torch(catalog: Catalog) -> None:
    """PyPI's torchao none-any wheel is its CPU build (the tag stripped), as PyPI's torch is."""
    plan = select(target(os="macos", arch="aarch64"), catalog, _reqs("torch", "torchao"))
    assert plan.on_pypi and _pin(plan, "torchao") == "0.18.0"
    wheel = next(p.wheel for p in plan.pins if p.project == "torchao")
    assert wheel is not None and wheel.filename == "torchao-0.18.0-py3-none-any.whl"


@pytest.mark.parametrize("name", ["fbgemm-gpu", "fbgemm-gpu-genai", "torchrec"])
def test_macos_has_no_fbgemm_and_says_so(catalog: Catalog, name: str) -> None:
    with pytest.raises(NoCompatibleBuild) as e:
        select(target(os="macos", arch="aarch64"), catalog, _reqs("torch", name))
    assert e.value.exit_code == 3 and name in e.value.message
    # torchrec's own wheels are pure Python: the fbgemm-gpu it brings is what has no macOS build.
    assert any(r.reason.startswith("fbgemm-gpu") and "wheel for macos_arm64" in r.reason for r in e.value.rejections)


def test_a_pure_wheel_installs_on_every_platform() -> None:
    """torchrec ships only ``py3X-none-any`` wheels, torchao's CPU build is ``py3-none-any``."""
    from torchpin.facts.catalog import ProjectRelease
    from torchpin.facts.wheels import best_wheel
    from torchpin.models import WheelFile

    files = (WheelFile("torchrec-1.6.1-py312-none-any.whl", None, None),)
    for t in (target(), target(os="macos", arch="aarch64"), target(os="windows")):
        assert best_wheel(files, "torchrec", "1.6.1", t) is not None
    assert best_wheel(files, "torchrec", "1.6.1", target(python="3.11")) is None
    release = ProjectRelease("torchrec", "1.6.1", None, False, ({"filename": files[0].filename},))
    assert release.python_tags("macos_arm64") == release.python_tags("linux_x86_64") == {"py312-none"}


@pytest.mark.parametrize(
    ("t", "name", "torch", "triton"),
    [
        (target(backend="cu130"), "triton", "2.14.1", "3.8.0"),
        (target(backend="cu126"), "triton<3.6", "2.9.1", "3.5.1"),
        (target(backend="rocm6.4"), "pytorch-triton-rocm", "2.9.1", "3.5.1"),
        (target(arch="aarch64", backend="cu130"), "triton", "2.14.1", "3.8.0"),
    ],
    ids=["cuda", "cuda-older-triton", "rocm-before-the-rename", "aarch64-from-2.11"],
)
def test_a_triton_build_is_the_one_the_chosen_torch_requires(
    catalog: Catalog, t: Any, name: str, torch: str, triton: str
) -> None:
    plan = select(t, catalog, _reqs("torch", name))
    project = name.split("<")[0]
    assert (plan.release, _pin(plan, project)) == (torch, triton)
    release = catalog.release(plan.release)
    assert release is not None and release.triton == triton
    if project == "triton":  # PyPI's own file: CUDA torch requires it from there
        wheel = next(p.wheel for p in plan.pins if p.project == "triton")
        assert wheel is not None and wheel.url and wheel.url.startswith("https://files.pythonhosted.org/")


@pytest.mark.parametrize(
    ("t", "name", "says"),
    [
        (target(backend="cu130"), "triton-rocm", "requires triton, not triton-rocm"),
        (target(backend="cpu"), "triton", "requires no triton build"),
        (target(os="macos", arch="aarch64"), "triton", "requires no triton build"),
        (target(backend="rocm7.1"), "pytorch-triton-rocm", "requires triton-rocm, not pytorch-triton-rocm"),
    ],
)
def test_a_triton_build_the_torch_build_does_not_require_is_exit_3(
    catalog: Catalog, t: Any, name: str, says: str
) -> None:
    with pytest.raises(NoCompatibleBuild) as e:
        select(t, catalog, _reqs("torch", name))
    assert e.value.exit_code == 3 and says in e.value.message


def test_the_cuda_aarch64_torch_before_2_11_requires_no_triton(catalog: Catalog) -> None:
    with pytest.raises(NoCompatibleBuild) as e:
        select(target(arch="aarch64", backend="cu128"), catalog, _reqs("torch==2.10.0", "triton"))
    assert "on linux_aarch64 requires no triton build" in e.value.message


def test_flash_attn_3_comes_from_the_variant_it_was_seen_on_and_holds_torch_back(catalog: Catalog) -> None:
    """flash-attn-3 3.0.0 targets torch>=2.9 by the stable ABI and was seen only on cu128: torch
    stays on the newest release with a cu128 build, and the pin is plain (PyPI has no 3.0.0 to
    confuse it with: its flash-attn-3 is a 0.0.0 placeholder)."""
    plan = select(GPU, catalog, _reqs("torch", "flash-attn-3"))
    assert (plan.release, plan.variant.name, _pin(plan, "flash-attn-3")) == ("2.11.0", "cu128", "3.0.0")
    assert any("flash-attn-3 holds torch back" in n for n in plan.notes)
    pin = next(p for p in plan.pins if p.project == "flash-attn-3")
    assert not pin.direct  # offline its file is unknown; the find-links page names it


def test_flash_attn_3_needs_torch_2_9(catalog: Catalog) -> None:
    with pytest.raises(NoCompatibleBuild) as e:
        select(GPU, catalog, _reqs("torch==2.8.0", "flash-attn-3"))
    assert "no flash-attn-3 release is paired with torch 2.8.0" in e.value.message
