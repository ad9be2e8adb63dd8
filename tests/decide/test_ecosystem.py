"""Ecosystem packages (xformers, torch-tensorrt) paired with the chosen torch from the same variant
(issue 18): decisions on the snapshot's recorded facts."""

from __future__ import annotations

from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import target
from torchpin.decide.select import select
from torchpin.errors import NoCompatibleBuild
from torchpin.facts.catalog import Catalog
from torchpin.locks.requirements import requirements_lock as requirements
from torchpin.models import Plan, Requirement

XF = [Requirement("torch"), Requirement("xformers")]


def _pin(plan: Plan, project: str) -> Any:
    return next(p for p in plan.pins if p.project == project)


def _paired(catalog: Catalog, plan: Plan) -> None:
    """The xformers pinned declares the chosen torch and was published for the chosen variant."""
    pin = _pin(plan, "xformers")
    files = catalog.project("xformers", pin.version)
    assert files is not None and files.requires_torch is not None and files.builds is not None
    assert files.requires_torch.contains(Version(plan.release))
    assert plan.variant.name in files.builds.variants
    assert pin.direct and pin.wheel.url.startswith(f"https://download.pytorch.org/whl/{plan.variant}/xformers-")


@pytest.mark.parametrize(("driver", "variant"), [("560.35", "cu126"), ("580.65", "cu130")])
def test_xformers_comes_from_the_variant_torch_comes_from(catalog: Catalog, driver: str, variant: str) -> None:
    plan = select(target(driver=driver, cc=("8.6",)), catalog, XF)
    assert plan.variant.name == variant
    _paired(catalog, plan)
    text = requirements(plan)
    assert f"xformers @ https://download.pytorch.org/whl/{variant}/xformers-" in text
    assert "xformers==" not in text  # PyPI's file of that version is another CUDA build


def test_a_variant_xformers_lacks_gives_the_newest_torch_that_has_one_and_says_so(catalog: Catalog) -> None:
    """A driver that runs cu132: xformers publishes no cu132 build, so the cu130 one wins, and a note
    names what torch alone would be."""
    t = target(driver="595.10", cc=("8.6",))
    alone = select(t, catalog, [Requirement("torch")])
    assert alone.variant.name in ("cu132", "cu134")
    plan = select(t, catalog, XF)
    assert plan.variant.name == "cu130"
    _paired(catalog, plan)
    assert any(f"without it, torch would be {alone.release} ({alone.variant})" in n for n in plan.notes)
    assert any(
        r.variant == alone.variant.name and f"no {alone.variant} build" in r.reason and "xformers" in r.reason
        for r in plan.rejected
    )


def test_no_note_when_xformers_holds_nothing_back(catalog: Catalog) -> None:
    plan = select(target(driver="560.35", cc=("8.6",)), catalog, XF)
    assert not any("holds torch back" in n for n in plan.notes)


def test_an_exact_torch_gets_the_xformers_built_for_it(catalog: Catalog) -> None:
    plan = select(
        target(driver="580.65", cc=("8.6",)),
        catalog,
        [Requirement("torch", SpecifierSet("==2.9.1")), Requirement("xformers")],
    )
    assert plan.release == "2.9.1" and _pin(plan, "xformers").version == "0.0.33.post2"
    _paired(catalog, plan)


@pytest.mark.parametrize(
    "t",
    [target(os="macos", arch="aarch64"), target(arch="aarch64"), target(backend="cpu"), target(backend="xpu")],
    ids=["macos", "linux-aarch64", "cpu", "xpu"],
)
def test_targets_xformers_has_no_build_for_are_exit_3_naming_it(catalog: Catalog, t: Any) -> None:
    with pytest.raises(NoCompatibleBuild) as e:
        select(t, catalog, XF)
    assert e.value.exit_code == 3 and "xformers" in e.value.message


def test_rocm_gets_the_rocm_build(catalog: Catalog) -> None:
    plan = select(target(backend="rocm7.1"), catalog, XF)
    assert plan.variant.name == "rocm7.1"
    _paired(catalog, plan)


def test_windows_gets_the_windows_file(catalog: Catalog) -> None:
    plan = select(target(os="windows", driver="580.65", cc=("8.6",)), catalog, XF)
    assert _pin(plan, "xformers").wheel.filename.endswith("win_amd64.whl")


def test_torch_tensorrt_builds_are_unconfirmed_offline(catalog: Catalog) -> None:
    """Its Requires-Dist is recorded, its variant builds are not: only the live pages confirm them."""
    with pytest.raises(NoCompatibleBuild) as e:
        select(target(driver="580.65", cc=("8.6",)), catalog, [Requirement("torch-tensorrt")])
    assert "no torch-tensorrt release is paired with torch 2.15.0" in e.value.message  # its newest: torch<2.15
    with pytest.raises(NoCompatibleBuild) as e:
        select(
            target(driver="580.65", cc=("8.6",)),
            catalog,
            [Requirement("torch", SpecifierSet("==2.14.1")), Requirement("torch-tensorrt")],
        )
    assert "torch-tensorrt 2.14.0: its variant builds are not recorded; needs the live index" in e.value.message


@pytest.mark.parametrize("name", ["torchtune", "pytorch-triton"])
def test_ecosystem_names_with_no_pairing_fact_are_exit_2_saying_why(name: str) -> None:
    from torchpin.decide.targets import parse_requirement
    from torchpin.errors import UsageError

    with pytest.raises(UsageError) as e:
        parse_requirement(name)
    assert e.value.exit_code == 2 and f"can't pair {name}" in e.value.message


def test_ecosystem_names_are_requirements(catalog: Catalog) -> None:
    from torchpin.decide.targets import parse_requirement

    assert parse_requirement("xformers>=0.0.33").project == "xformers"
    assert parse_requirement("torch_tensorrt").project == "torch-tensorrt"
