"""Variant names, wheel filenames and tag rules (pure)."""

from __future__ import annotations

import pytest
from packaging.version import Version

from torchpin.errors import UsageError
from torchpin.facts.wheels import parse_variant, parse_wheel, platform_floor, platform_key, python_accepts
from torchpin.models import Family, PythonTarget, Variant


@pytest.mark.parametrize(
    ("name", "family", "version"),
    [
        ("cu118", Family.CUDA, (11, 8)),
        ("cu128", Family.CUDA, (12, 8)),
        ("cu130", Family.CUDA, (13, 0)),  # the last digit is the minor, not "13.0" vs "1.30"
        ("CU126", Family.CUDA, (12, 6)),  # users type capitals
        ("rocm6.2.4", Family.ROCM, (6, 2, 4)),  # three-part ROCm names keep every part
        ("rocm7.14", Family.ROCM, (7, 14)),
        ("cpu", Family.CPU, ()),
        ("xpu", Family.XPU, ()),
    ],
)
def test_parse_variant(name: str, family: Family, version: tuple[int, ...]) -> None:
    v = parse_variant(name)
    assert (v.family, v.version) == (family, version)
    assert v.name == name.lower()


@pytest.mark.parametrize("bad", ["cuda12", "cu12", "rocm", "rocm6", "gpu", "", "cu128x", "metal"])
def test_parse_variant_rejects(bad: str) -> None:
    with pytest.raises(UsageError, match="unknown backend"):
        parse_variant(bad)


def test_variant_order_is_numeric() -> None:
    # cu130 must sort above cu128 and rocm6.10 above rocm6.4: string order gets both wrong.
    assert parse_variant("cu130") > parse_variant("cu128")
    assert parse_variant("rocm6.10") > parse_variant("rocm6.4")
    assert max([parse_variant("cu126"), parse_variant("cu118")]) == Variant(Family.CUDA, (12, 6))


@pytest.mark.parametrize(
    ("filename", "project", "version", "build"),
    [
        ("torch-2.5.1+cu124-cp311-cp311-linux_x86_64.whl", "torch", "2.5.1+cu124", None),
        ("torch-2.10.0-3-cp311-cp311-manylinux_2_28_x86_64.whl", "torch", "2.10.0", 3),  # PyPI re-upload build tag
        ("torchvision-0.29.2-py3-none-manylinux_2_28_x86_64.whl", "torchvision", "0.29.2", None),
        (
            "torchcodec-0.17.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "torchcodec",
            "0.17.0",
            None,
        ),
    ],
)
def test_parse_wheel(filename: str, project: str, version: str, build: int | None) -> None:
    w = parse_wheel(filename)
    assert (w.project, str(w.version), w.build) == (project, version, build)


def test_parse_wheel_rejects_garbage() -> None:
    with pytest.raises(UsageError, match="not a wheel"):
        parse_wheel("torch-2.5.1.tar.gz")


@pytest.mark.parametrize(
    ("tag", "key"),
    [
        ("manylinux1_x86_64", "linux_x86_64"),
        ("manylinux_2_28_aarch64", "linux_aarch64"),
        ("linux_x86_64", "linux_x86_64"),  # download.pytorch.org's bare tag up to 2.6
        ("manylinux2014_aarch64", "linux_aarch64"),
        ("win_amd64", "win_amd64"),
        ("macosx_11_0_arm64", "macos_arm64"),
        ("macosx_10_9_x86_64", "macos_x86_64"),
        ("macosx_10_9_universal2", "macos_arm64"),
        ("win32", None),  # PyTorch never shipped 32-bit Windows wheels
        ("musllinux_1_2_x86_64", None),  # nor musl ones
    ],
)
def test_platform_key(tag: str, key: str | None) -> None:
    assert platform_key(tag) == key


@pytest.mark.parametrize(
    ("tag", "floor"),
    [
        ("manylinux_2_28_x86_64", "2.28"),
        ("manylinux2014_aarch64", "2.17"),  # legacy aliases map to their glibc
        ("manylinux1_x86_64", "2.5"),
        ("macosx_14_0_arm64", "14.0"),
        ("linux_x86_64", None),  # the bare tag promises nothing
        ("win_amd64", None),
    ],
)
def test_platform_floor(tag: str, floor: str | None) -> None:
    assert platform_floor(tag) == (Version(floor) if floor else None)


PY312 = PythonTarget(3, 12)
PY314T = PythonTarget(3, 14, freethreaded=True)


@pytest.mark.parametrize(
    ("tags", "python", "ok"),
    [
        ({"cp312-cp312"}, PY312, True),
        ({"cp311-cp311"}, PY312, False),  # a cp311 extension does not load in 3.12
        ({"cp39-abi3"}, PY312, True),  # stable ABI runs on later versions
        ({"cp313-abi3"}, PY312, False),  # ... but not earlier ones
        ({"py3-none"}, PY312, True),  # torchvision 0.29.2's pure-tag wheel
        ({"cp312-none"}, PY312, True),  # old macOS torch wheels: cp312-none
        ({"cp311-none"}, PY312, False),  # cpXY-none is tied to that version
        ({"cp314-cp314"}, PY314T, False),  # free-threaded needs its own ABI
        ({"cp314-cp314t"}, PY314T, True),
        ({"cp314-cp314t"}, PythonTarget(3, 14), False),  # and the GIL build can't load it
        ({"cp39-abi3"}, PY314T, False),  # abi3 is not free-threading safe
        (set(), PY312, False),
    ],
)
def test_python_accepts(tags: set[str], python: PythonTarget, ok: bool) -> None:
    assert python_accepts(tags, python) is ok
