"""flash-attn's release wheels (issue 28, item 2), decided on the snapshot's recorded build matrices
and torch's C++ ABI per release and variant: the file whose torch minor, CUDA major and ABI match
the chosen torch build, for the target's CPython, or exit 3 naming the nearest torch that has one."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from packaging.requirements import Requirement as Line

from tests.conftest import target
from torchpin.decide.select import select
from torchpin.decide.targets import parse_requirement
from torchpin.errors import NoCompatibleBuild, SnapshotError, UsageError
from torchpin.facts.catalog import Catalog
from torchpin.facts.flash_attn import cxx11_abi, parse_wheel_name, wheel_name, with_assets
from torchpin.facts.snapshot import load_catalog
from torchpin.models import Plan, PythonTarget, Requirement


def _reqs(*lines: str) -> list[Requirement]:
    return [Requirement(r.name, r.specifier) for r in map(Line, lines)]


def _fa(plan: Plan) -> str:
    pin = next(p for p in plan.pins if p.project == "flash-attn")
    assert pin.direct and pin.wheel is not None and pin.wheel.url is not None
    return pin.wheel.filename


@pytest.mark.parametrize(
    ("torch", "variant", "platform", "abi"),
    [
        ("2.5.1", "cu124", "linux_x86_64", False),
        ("2.6.0", "cu126", "linux_x86_64", True),  # the 2.6 blog: cu126 alone on manylinux 2.28
        ("2.6.0", "cu124", "linux_x86_64", False),
        ("2.6.0", "cu118", "linux_x86_64", False),
        ("2.6.0", "xpu", "linux_x86_64", True),
        ("2.6.0", "cpu", "linux_aarch64", True),
        ("2.7.1", "cu118", "linux_x86_64", True),
        ("2.12.0", "cu130", "linux_aarch64", True),
    ],
)
def test_torchs_cxx11_abi_per_release_and_variant(
    catalog: Catalog, torch: str, variant: str, platform: str, abi: bool
) -> None:
    rule = cxx11_abi(catalog.flash_attn, torch, variant, platform)
    assert rule is not None and rule.abi is abi


def test_the_abi_is_unrecorded_where_no_source_says_it(catalog: Catalog) -> None:
    assert cxx11_abi(catalog.flash_attn, "2.6.0", "rocm6.1", "linux_x86_64") is None  # the blog names 6.2.4 only
    assert cxx11_abi(catalog.flash_attn, "2.8.0", "cu128", "win_amd64") is None  # a libstdc++ setting


def test_the_file_name_is_setup_pys() -> None:
    name = wheel_name("2.8.3+cu12torch2.6cxx11abiTRUE", PythonTarget(3, 12))
    assert name == "flash_attn-2.8.3+cu12torch2.6cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"
    parsed = parse_wheel_name(name)
    assert parsed is not None and parsed[0] == "2.8.3" and parsed[1].local == "cu12torch2.6cxx11abiTRUE"
    assert parse_wheel_name("flash_attn-2.8.3-cp312-cp312-linux_x86_64.whl") is None


@pytest.mark.parametrize(("backend", "abi"), [("cu126", "TRUE"), ("cu124", "FALSE")])
def test_torch_2_6_takes_the_file_of_its_builds_abi(catalog: Catalog, backend: str, abi: str) -> None:
    plan = select(target("3.11", backend=backend), catalog, _reqs("torch==2.6.0", "flash-attn"))
    name = _fa(plan)
    assert f"+cu12torch2.6cxx11abi{abi}-cp311-cp311-linux_x86_64.whl" in name
    # Offline, 2.8.3.post1's cu12torch2.6 TRUE file was never seen: 2.8.3's is; its FALSE one was.
    version = "2.8.3" if abi == "TRUE" else "2.8.3.post1"
    assert name.startswith(f"flash_attn-{version}+")


def test_newest_torch_with_a_file_wins_and_the_note_says_what_held_it_back(catalog: Catalog) -> None:
    plan = select(target("3.12", backend="cu128"), catalog, _reqs("torch", "flash-attn"))
    assert plan.release == "2.8.0"
    assert _fa(plan) == "flash_attn-2.8.3.post1+cu12torch2.8cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"
    held = next(n for n in plan.notes if n.startswith("flash-attn holds torch back"))
    assert "the newest torch with one for CUDA 12 and CPython 3.12 is 2.8 (flash-attn 2.8.3.post1)" in held


@pytest.mark.parametrize(
    ("reqs", "backend", "python", "arch", "said"),
    [
        (("torch==2.9.0", "flash-attn"), "cu128", "3.11", "x86_64", "publishes no file for torch 2.9, CUDA 12"),
        (("torch", "flash-attn"), "cu130", "3.11", "x86_64", "build for CUDA 11, 12 only, not CUDA 13"),
        (("torch", "flash-attn"), "rocm6.4", "3.11", "x86_64", "for CUDA builds only (not rocm6.4)"),
        (("torch", "flash-attn"), "cu128", "3.11", "aarch64", "for linux_x86_64 only (not linux_aarch64)"),
        (("torch", "flash-attn"), "cu128", "3.14", "x86_64", "CPython 3.14"),
    ],
)
def test_no_file_is_exit_3_saying_the_gap(
    catalog: Catalog, reqs: tuple[str, ...], backend: str, python: str, arch: str, said: str
) -> None:
    with pytest.raises(NoCompatibleBuild) as e:
        select(target(python, arch=arch, backend=backend), catalog, _reqs(*reqs))
    assert said in e.value.message


def test_a_pinned_torch_without_a_file_names_the_nearest(catalog: Catalog) -> None:
    with pytest.raises(NoCompatibleBuild) as e:
        select(target("3.11", backend="cu128"), catalog, _reqs("torch==2.9.0", "flash-attn"))
    assert "the newest torch with one for CUDA 12 and CPython 3.11 is 2.8 (flash-attn 2.8.3.post1)" in e.value.message


def test_a_version_requirement_picks_among_the_releases(catalog: Catalog) -> None:
    plan = select(target("3.11", backend="cu124"), catalog, _reqs("torch==2.5.1", "flash-attn<2.8"))
    assert _fa(plan).startswith("flash_attn-2.7.4.post1+cu12torch2.5cxx11abiFALSE-cp311")
    with pytest.raises(NoCompatibleBuild) as e:
        select(target("3.11", backend="cu124"), catalog, _reqs("torch", "flash-attn==9.9"))
    assert "no flash-attn release satisfies 'flash-attn==9.9'" in e.value.message


def test_a_live_look_decides_the_unconfirmed_files(catalog: Catalog) -> None:
    """While the host can be asked, 2.8.3.post1's unseen files are worth trying; a 404 is a fact the
    decision then steps past; a file read and hashed is pinned with its digest."""
    reqs = _reqs("torch==2.6.0", "flash-attn")
    live = with_assets(catalog, {}, live=True)
    tried = select(target("3.11", backend="cu126"), live, reqs)
    post1 = "flash_attn-2.8.3.post1+cu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    assert _fa(tried) == post1
    gone = select(target("3.11", backend="cu126"), with_assets(live, {post1: None}), reqs)
    older = "flash_attn-2.8.3+cu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    assert _fa(gone) == older
    hashed = select(target("3.11", backend="cu126"), with_assets(live, {post1: None, older: "a" * 64}), reqs)
    pin = next(p for p in hashed.pins if p.project == "flash-attn")
    assert pin.wheel is not None and pin.wheel.sha256 == "a" * 64
    assert pin.wheel.url == (
        "https://github.com/Dao-AILab/flash-attention/releases/download/v2.8.3/"
        "flash_attn-2.8.3%2Bcu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    )


def test_a_release_built_on_a_torch_prerelease_is_unconfirmed_for_that_torch(catalog: Catalog) -> None:
    """2.7.3 built its torch 2.6 files on 2.6.0.dev20241001: cu118 torch 2.6 has no other cu11 file."""
    with pytest.raises(NoCompatibleBuild) as e:
        select(target("3.11", backend="cu118"), catalog, _reqs("torch==2.6.0", "flash-attn>=2.7.3,<2.7.4"))
    assert "2.7.3's cu11torch2.6cxx11abiFALSE file is unconfirmed" in e.value.message


def test_torch_geometric_is_named_as_pypis() -> None:
    with pytest.raises(UsageError) as e:
        parse_requirement("torch-geometric")
    assert "pure Python on PyPI" in e.value.message and "torch-scatter" in e.value.message


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("releases", "2.8.3", "cuda"), ["12"], "flash_attn.releases.2.8.3.cuda"),
        (("releases", "2.8.3", "python"), ["3.9", "three"], "flash_attn.releases.2.8.3.python"),
        (("releases", "2.8.3", "torch"), ["2"], "flash_attn.releases.2.8.3.torch"),
        (("cxx11_abi",), [{"torch": ">=2.7", "cxx11_abi": "yes", "status": "confirmed", "source": "X"}], "cxx11_abi"),
    ],
)
def test_a_bad_snapshot_row_names_its_path(
    snapshot_doc: dict[str, Any], path: tuple[str, ...], value: object, named: str
) -> None:
    doc = copy.deepcopy(snapshot_doc)
    where = doc["flash_attn"]
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    with pytest.raises(SnapshotError) as e:
        load_catalog(json.dumps(doc))
    assert named in e.value.message
