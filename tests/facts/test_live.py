"""Folding live pages into the catalog (pure): the page is the truth for its variant."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet

from tests.conftest import target
from tests.support.newest import NEXT
from torchpin.decide.live import live_candidates
from torchpin.decide.select import select
from torchpin.errors import NoCompatibleBuild
from torchpin.facts.live import merge
from torchpin.facts.simple import Link
from torchpin.facts.snapshot import Catalog
from torchpin.models import Requirement

CDN = "https://download-r2.pytorch.org/whl"


def links(variant: str, *names: str) -> tuple[Link, ...]:
    return tuple(Link(n, f"{CDN}/{variant}/{n.replace('+', '%2B')}", "ab" * 32) for n in names)


TORCH = [Requirement("torch")]


def test_live_page_confirms_an_unconfirmed_variant(catalog: Catalog) -> None:
    windows = target("3.12", "windows", driver="595.71", cc=("9.0",))
    assert select(windows, catalog, TORCH).release == "2.14.1"  # 2.15.0's Windows cu132 is unconfirmed offline
    page = links(
        "cu132", "torch-2.15.0+cu132-cp312-cp312-win_amd64.whl", "torch-2.14.1+cu132-cp312-cp312-win_amd64.whl"
    )
    live = merge(catalog, {("cu132", "torch"): page})
    plan = select(windows, live, TORCH)
    assert [p.version for p in plan.pins] == ["2.15.0+cu132"]
    wheel = plan.pins[0].wheel
    assert wheel is not None and wheel.url is not None and wheel.url.startswith(CDN)
    assert wheel.sha256 == "ab" * 32


def test_a_build_missing_from_its_page_is_dropped(catalog: Catalog) -> None:
    # The page has 2.14.0 but not 2.14.1 (nor 2.15.0): the index is the truth.
    page = links("cu126", "torch-2.14.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl")
    live = merge(catalog, {("cu126", "torch"): page})
    plan = select(target("3.12", driver="580.65.06", cc=("6.1",)), live, TORCH)
    assert plan.release == "2.14.0"


def test_python_tags_come_from_the_page(catalog: Catalog) -> None:
    # 2.5's cp313 wheels were experimental and only on some pages; the snapshot can't know which.
    page = links("cu121", "torch-2.5.1+cu121-cp312-cp312-linux_x86_64.whl")
    live = merge(catalog, {("cu121", "torch"): page})
    py313 = target("3.13", driver="560.35.05", cc=("8.6",), backend="cu121")
    try:
        select(py313, live, [Requirement("torch", SpecifierSet("==2.5.1"))])
        raise AssertionError("expected no build")
    except NoCompatibleBuild as e:
        assert "the index has no torch 2.5.1+cu121 wheel for CPython 3.13 on linux_x86_64" in str(e)


def test_untagged_wheels_on_a_cuda_page_are_cpu_builds(catalog: Catalog) -> None:
    # /whl/cu124/torch/ carries untagged aarch64 CPU wheels: they prove nothing about cu124.
    page = links("cu124", "torch-2.5.1-cp310-cp310-linux_aarch64.whl")
    live = merge(catalog, {("cu124", "torch"): page})
    release = live.release("2.5.1")
    assert release is not None and release.build("cu124", "linux_x86_64") is None


def test_a_release_only_the_index_knows(catalog: Catalog) -> None:
    page = links(
        "cpu",
        f"torch-{NEXT}+cpu-cp312-cp312-manylinux_2_28_x86_64.whl",
        f"torch-{NEXT}+cpu-cp313-cp313-manylinux_2_28_x86_64.whl",
        "torch-2.14.1+cpu-cp312-cp312-manylinux_2_28_x86_64.whl",
        "torch-2.11.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl",  # torchaudio 2.11.0's builds follow it
    )
    live = merge(catalog, {("cpu", "torch"): page})
    plan = select(target("3.12"), live, TORCH)
    assert [p.version for p in plan.pins] == [f"{NEXT}+cpu"]
    # its companions' pairing is a guess: the trio stays on a release the facts cover
    trio = [Requirement("torch"), Requirement("torchvision"), Requirement("torchaudio")]
    assert select(target("3.12"), live, trio).release == "2.14.1"
    # and its GPU arch lists are guesses too: no GPU build from it
    gpu = select(
        target("3.12", driver="595.71.05", cc=("9.0",)),
        merge(
            catalog, {("cu132", "torch"): links("cu132", f"torch-{NEXT}+cu132-cp312-cp312-manylinux_2_28_x86_64.whl")}
        ),
        TORCH,
    )
    assert gpu.release != NEXT


def test_live_candidates_stop_at_the_first_decidable_release(catalog: Catalog) -> None:
    blackwell = target("3.12", driver="570.86.15", cc=("12.0",))
    assert [v.name for v in live_candidates(blackwell, catalog, TORCH)] == ["cu128"]
    cpu = target("3.12")
    assert [v.name for v in live_candidates(cpu, catalog, TORCH)] == ["cpu"]
    mac = target("3.12", "macos", "aarch64")
    assert live_candidates(mac, catalog, TORCH) == []  # PyPI builds: the snapshot has their files
