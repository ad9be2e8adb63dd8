"""Lock text: the requirements file and the design's JSON shape."""

from __future__ import annotations

import json

from packaging.specifiers import SpecifierSet

from tests.conftest import target
from tests.support.newest import TORCH as NEWEST
from tests.support.newest import newest_declaring
from torchpin.decide.select import select
from torchpin.facts.snapshot import Catalog
from torchpin.locks.formats import LockFormat, LockInput, write
from torchpin.locks.requirements import as_json
from torchpin.models import Requirement


def render(plan, fmt: str) -> str:
    return write(LockFormat(fmt), LockInput([(None, plan)]))[0]


TRIO = [Requirement("torch"), Requirement("torchvision"), Requirement("torchaudio")]


def test_requirements_for_a_variant_index(catalog: Catalog) -> None:
    plan = select(target("3.12", driver="570.86.15", cc=("12.0",)), catalog, TRIO)
    text = render(plan, "requirements")
    lines = text.splitlines()
    comments = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    # PyPI is the index and the family's variant pages are find-links pages: uv takes a project from
    # the first index that lists it, and the variant index lists stale copies of torch's dependencies.
    assert body == [
        "--index-url https://pypi.org/simple",
        "--find-links https://download.pytorch.org/whl/cu128/torch/",
        "--find-links https://download.pytorch.org/whl/cu128/torchvision/",
        "--find-links https://download.pytorch.org/whl/cu128/torchaudio/",
        "torch==2.11.0+cu128",
        "torchvision==0.26.0+cu128",
        "torchaudio==2.11.0+cu128",
    ]
    header = "\n".join(comments)
    assert "backend cu128" in header and "driver 570.86.15" in header and "compute capability 12.0" in header
    assert "why:" in header and "source: snapshot" in header
    # pip turns on hash-checking for the whole file once one line has a hash: none until all can.
    assert "--hash" not in text


def test_requirements_for_pypi_builds_use_pypi_only(catalog: Catalog) -> None:
    plan = select(target("3.12", "macos", "aarch64"), catalog, TRIO)
    body = [line for line in render(plan, "requirements").splitlines() if not line.startswith("#")]
    vision, audio = newest_declaring("torchvision"), newest_declaring("torchaudio")  # PyPI's files confirm them
    assert body == [
        "--index-url https://pypi.org/simple",
        f"torch=={NEWEST}",
        f"torchvision=={vision}",
        f"torchaudio=={audio}",
    ]


def test_json_shape(catalog: Catalog) -> None:
    plan = select(target("3.12", driver="570.86.15", cc=("12.0",)), catalog, TRIO)
    doc = json.loads(render(plan, "json"))
    assert doc == as_json(plan)
    assert doc["schema"] == 1
    assert doc["backend"] == "cu128"
    assert doc["index_url"] == "https://download.pytorch.org/whl/cu128"
    assert doc["target"]["python_version"] == "3.12"
    assert doc["target"]["python_platform"] == "linux_x86_64"
    assert doc["target"]["accelerator"] == {"kind": "cuda", "driver": "570.86.15", "gpus": [{"cc": "12.0"}]}
    assert [p["name"] for p in doc["packages"]] == ["torch", "torchvision", "torchaudio"]
    # no public hash for cu128 2.11.0 wheels in the snapshot: null, never invented
    assert all(p["sha256"] is None and p["filename"] is None for p in doc["packages"])
    cu126 = [r for r in doc["rejected"] if (r["torch"], r["backend"]) == ("2.14.1", "cu126")]
    assert len(cu126) == 1 and "no kernels for sm_120" in cu126[0]["reason"]
    assert all(set(r) == {"torch", "backend", "reason"} for r in doc["rejected"])


def test_json_carries_real_pypi_hashes(catalog: Catalog) -> None:
    plan = select(target("3.11", "macos", "aarch64"), catalog, [Requirement("torch", SpecifierSet("==2.5.1"))])
    pkg = as_json(plan)["packages"][0]
    assert pkg["filename"] == "torch-2.5.1-cp311-none-macosx_11_0_arm64.whl"
    assert len(pkg["sha256"]) == 64
    assert pkg["url"].endswith("/torch-2.5.1-cp311-none-macosx_11_0_arm64.whl")


def test_parse_lock_reads_hash_pinned_full_locks() -> None:
    from torchpin.locks.read import read_lock

    text = (
        "--index-url https://pypi.org/simple\n--extra-index-url https://download.pytorch.org/whl/cu126\n"
        "torch==2.14.1+cu126 \\\n    --hash=sha256:" + "a" * 64 + "\n"
        'numpy==2.1.0 ; python_version >= "3.10" \\\n    --hash=sha256:' + "b" * 64 + "\n"
    )
    pins, index, variant = (v := read_lock(text)).pins, v.index_url, v.variant
    assert pins == {"torch": "2.14.1+cu126", "numpy": "2.1.0"} and variant == "cu126"
    assert index == "https://download.pytorch.org/whl/cu126"
