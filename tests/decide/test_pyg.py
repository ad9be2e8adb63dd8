"""PyTorch Geometric's extensions (issue 28, item 1), decided on the snapshot's recorded pages and
on pages read live (folded in as the lock's live read folds them): the page of the chosen torch
minor and variant, the newest release on it that installs on the target, or why none does."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement as Line

from tests.conftest import target
from torchpin.decide.live import pyg_candidates
from torchpin.decide.select import select
from torchpin.errors import NoCompatibleBuild, SnapshotError
from torchpin.facts.catalog import Catalog
from torchpin.facts.pyg import local_tag, merge_pyg, minor_of, page_url
from torchpin.facts.simple import parse_html
from torchpin.facts.snapshot import load_catalog
from torchpin.models import Plan, Requirement


def _reqs(*lines: str) -> list[Requirement]:
    return [Requirement(r.name, r.specifier) for r in map(Line, lines)]


def _pin(plan: Plan, project: str) -> str:
    return next(p.version for p in plan.pins if p.project == project)


def test_the_page_is_always_the_minors_dot_zero() -> None:
    assert page_url("https://data.pyg.org/whl/", minor_of("2.11.1"), "cu128") == (
        "https://data.pyg.org/whl/torch-2.11.0+cu128.html"
    )
    assert local_tag("2.8", "cu129") == "pt28cu129" and local_tag("2.11", "cpu") == "pt211cpu"


@pytest.mark.parametrize(
    ("backend", "torch", "held"),
    # PyG's docs: 2.12 has cpu, cu126, cu130, cu132 (no cu128); 2.11 has cu128; 2.8 cu129. cu128's
    # and cu129's newest torch has a page: nothing is held back there.
    [
        ("cu126", "2.12.1", True),
        ("cu128", "2.11.0", False),
        ("cu130", "2.12.1", True),
        ("cu129", "2.8.0", False),
        ("cpu", "2.12.1", True),
    ],
)
def test_offline_torch_is_the_newest_whose_page_has_the_package(
    catalog: Catalog, backend: str, torch: str, held: bool
) -> None:
    plan = select(target(backend=backend), catalog, _reqs("torch", "torch-scatter"))
    assert plan.release == torch
    assert _pin(plan, "torch-scatter") == f"2.1.2+{local_tag(minor_of(torch), backend)}"
    assert not any(p.direct for p in plan.pins)  # offline: no file read, pinned by version
    said = any("torch-scatter holds torch back" in n and "data.pyg.org has no" in n for n in plan.notes)
    assert said is held


def test_pyg_lib_alone_reaches_the_newest_page_and_its_abi3_build(catalog: Catalog) -> None:
    plan = select(target(backend="cu130"), catalog, _reqs("torch", "pyg-lib"))
    assert (plan.release, _pin(plan, "pyg-lib")) == ("2.13.0", "0.8.0+pt213cu130")
    # Only pyg-lib 0.8 has aarch64 wheels: the rusty1s extensions don't.
    arm = target(arch="aarch64", glibc="2.28", backend="cpu")
    assert _pin(select(arm, catalog, _reqs("torch", "pyg-lib")), "pyg-lib") == "0.8.0+pt213cpu"
    with pytest.raises(NoCompatibleBuild, match="PyG publishes no torch-sparse for cpu on linux_aarch64"):
        select(arm, catalog, _reqs("torch", "torch-sparse"))


def test_macos_takes_the_cpu_page_beside_pypis_torch(catalog: Catalog) -> None:
    plan = select(target(os="macos", arch="aarch64", macos="14.0"), catalog, _reqs("torch", "torch-cluster"))
    assert plan.on_pypi and _pin(plan, "torch-cluster") == f"1.6.3+{local_tag(minor_of(plan.release), 'cpu')}"


@pytest.mark.parametrize(
    ("reqs", "tgt", "says"),
    [
        (("torch", "torch-scatter"), {"gfx": ("gfx942",)}, "data.pyg.org has no torch-"),
        (("torch==2.13.0", "torch-scatter"), {"backend": "cu130"}, "page has no torch-scatter"),
        (("torch", "torch-scatter<2"), {"backend": "cu128"}, "no torch-scatter release satisfies 'torch-scatter<2'"),
    ],
)
def test_no_fitting_page_is_exit_3_saying_why(
    catalog: Catalog, reqs: tuple[str, ...], tgt: dict[str, object], says: str
) -> None:
    with pytest.raises(NoCompatibleBuild) as e:
        select(target(**tgt), catalog, _reqs(*reqs))  # type: ignore[arg-type]
    assert says in e.value.message or says in str(e.value)


def _page(minor: str, variant: str, *names: str) -> str:
    folder = f"torch-{minor}.0%2B{variant}"
    rows = "\n".join(f'<a href="{folder}/{n.replace("+", "%2B")}">{n}</a><br/>' for n in names)
    return f"<!DOCTYPE html>\n<html>\n<body>\n{rows}\n</body>\n</html>"


def test_a_live_page_is_the_whole_truth(catalog: Catalog) -> None:
    """The newest release on the page with a wheel for the target wins; a 403 for a recorded page
    moves torch back; the pin names the file by URL."""
    url = page_url("https://data.pyg.org/whl", "2.12", "cu126")
    names = (
        "torch_scatter-2.1.3+pt212cu126-cp311-cp311-linux_x86_64.whl",  # newer, but not for 3.12
        "torch_scatter-2.1.2+pt212cu126-cp312-cp312-linux_x86_64.whl",
        "torch_scatter-2.1.2+pt211cu126-cp312-cp312-linux_x86_64.whl",  # another torch's build
    )
    links = parse_html(_page("2.12", "cu126", *names), url, flat=True)
    live = merge_pyg(catalog, {("2.12", "cu126"): links})
    plan = select(target(backend="cu126"), live, _reqs("torch", "torch-scatter"))
    [pin] = [p for p in plan.pins if p.project == "torch-scatter"]
    assert (plan.release, pin.version, pin.direct) == ("2.12.1", "2.1.2+pt212cu126", True)
    assert (
        pin.wheel and pin.wheel.url == f"https://data.pyg.org/whl/torch-2.12.0%2Bcu126/{names[1].replace('+', '%2B')}"
    )
    gone = merge_pyg(catalog, {("2.12", "cu126"): None})
    assert select(target(backend="cu126"), gone, _reqs("torch", "torch-scatter")).release == "2.11.0"


def test_the_live_read_asks_for_each_page_the_decision_may_land_on(catalog: Catalog) -> None:
    t = target(backend="cu126")
    first = pyg_candidates(t, catalog, _reqs("torch", "torch-scatter"))
    assert first[0][1] == "cu126" and ("2.12", "cu126") in first and ("2.11", "cu126") not in first
    after = merge_pyg(catalog, dict.fromkeys(first))  # every one of them answers 403
    assert pyg_candidates(t, after, _reqs("torch", "torch-scatter")) == [("2.11", "cu126")]
    assert pyg_candidates(t, catalog, _reqs("torch", "xformers")) == []


def test_a_bad_pyg_field_names_its_path() -> None:
    import json
    from pathlib import Path

    doc = json.loads((Path(__file__).resolve().parents[2] / "data" / "wheel_index.json").read_text())
    doc["pyg"]["builds"]["torch-scatter"][0]["platforms"] = "linux_x86_64"
    with pytest.raises(SnapshotError, match=r"pyg\.builds\.torch-scatter\[0\]\.platforms: expected a list"):
        load_catalog(json.dumps(doc))
