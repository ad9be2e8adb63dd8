"""A variants.json on the index (PEP 825) states a release's GPU list: a release only the live
index knows has its list inferred (unconfirmed, so no GPU decision trusts it) until the index's
`torch-X-variants.json` states it; then the stated list decides, both ways."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.version import Version

from tests.support.cli import run
from tests.support.fake_index import FakeIndexServer, FakePytorchIndex, Knobs
from torchpin.cli.snapshot import snapshot_bytes
from torchpin.facts.snapshot import load_catalog
from torchpin.facts.variants import stated_arch

H100 = ["--no-detect", "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28"]
H100 += ["--driver", "580.65.06", "--gpu-cc", "9.0", "--backend", "cu130", "torch"]


def _next(version: Version) -> str:
    return f"{version.major}.{version.minor + 1}.0"


def bumped_index(knobs: Knobs) -> tuple[FakePytorchIndex, str]:
    """The fake index with one release past the snapshot's newest (a copy of it, renamed)."""
    catalog = load_catalog(snapshot_bytes())
    newest = catalog.releases[0]
    old, version = str(newest.version), _next(newest.version)
    pypi = catalog.projects["torch"][old]
    files = tuple({**f, "filename": f["filename"].replace(f"-{old}-", f"-{version}-")} for f in pypi.raw_files)
    projects = {
        **catalog.projects,
        "torch": {**catalog.projects["torch"], version: replace(pypi, version=version, raw_files=files)},
    }
    releases = (replace(newest, version=Version(version)), *catalog.releases)
    return FakePytorchIndex(replace(catalog, releases=releases, projects=projects), knobs), version


def doc(variant: str, *values: str) -> bytes:
    body = {
        "default-priorities": {"namespace": ["nvidia"]},
        "variants": {variant: {"nvidia": {"sm_arch": list(values)}}},
    }
    return json.dumps(body).encode()


def lock(index: FakePytorchIndex, home: Path) -> str:
    with FakeIndexServer(index) as server:
        r = run("lock", *H100, "--index-url", server.base, "--explain", home=home)
    assert r.returncode in (0, 3), r.stderr
    return r.stdout + r.stderr


def test_stated_list_reads_real_and_virtual() -> None:
    arch = stated_arch(doc("cu130", "90_real", "120_real", "80_real", "120_virtual"), "cu130")
    assert arch is not None and arch.sass == ((8, 0), (9, 0), (12, 0)) and arch.ptx == (12, 0)
    assert arch.status == "confirmed" and arch.source == "variants.json"
    assert stated_arch(doc("cu128", "90_real"), "cu130") is None  # another label states nothing here
    assert stated_arch(doc("cu130", "90_real", "sm_90"), "cu130") is None  # believed whole or not at all
    assert stated_arch(b"not json", "cu130") is None


@pytest.mark.slow
def test_a_stated_list_turns_an_inferred_one_into_a_decision(tmp_path: Path) -> None:
    index, new = bumped_index(Knobs())
    said = lock(index, tmp_path / "a")
    assert f"torch=={new}+cu130" not in said
    assert f"torch {new}" in said and "GPU arch list of cu130 for linux_x86_64 is not known" in said
    name = f"torch-{new}-variants.json"
    index, _ = bumped_index(Knobs(variants_json={("cu130", name): doc("cu130", "80_real", "90_real", "100_real")}))
    assert f"torch=={new}+cu130" in lock(index, tmp_path / "b")
    # Stated without Hopper: the new release has no kernels for this GPU, said as such.
    index, _ = bumped_index(Knobs(variants_json={("cu130", name): doc("cu130", "80_real", "100_real")}))
    said = lock(index, tmp_path / "c")
    assert f"torch=={new}+cu130" not in said and "cu130 has no kernels for sm_90" in said
