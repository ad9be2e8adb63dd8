"""Driver and GPU-arch rules (pure)."""

from __future__ import annotations

import pytest

from torchpin.decide import compat
from torchpin.facts.snapshot import ArchList, Catalog
from torchpin.facts.wheels import parse_variant
from torchpin.models import DriverVersion, PlatformTarget

CU126 = ArchList(((5, 0), (6, 0), (7, 0), (7, 5), (8, 0), (8, 6), (9, 0)), None, "confirmed", "t")
CU130 = ArchList(((7, 5), (8, 0), (8, 6), (9, 0), (10, 0), (12, 0)), (12, 0), "confirmed", "t")
JETSON = ArchList(((8, 0), (8, 7), (9, 0)), None, "confirmed", "t")


@pytest.mark.parametrize(
    ("cc", "arch", "how"),
    [
        ((8, 6), CU126, "sass"),
        ((8, 9), CU126, "sass"),  # Ada runs sm_86 SASS: same major, higher minor
        ((6, 1), CU126, "sass"),  # Pascal 6.1 runs sm_60
        ((6, 1), CU130, None),  # CUDA 13 dropped Pascal: the cu13x failure users hit
        ((12, 0), CU126, None),  # Blackwell on cu126: no kernel image
        ((12, 0), CU130, "sass"),
        ((12, 1), CU130, "sass"),  # GB10 runs sm_120
        ((13, 0), CU130, "ptx"),  # a future GPU JIT-compiles compute_120 PTX
        ((9, 0), ArchList(((8, 0),), None, "confirmed", "t"), None),  # SASS never crosses majors
        ((8, 7), CU126, None),  # Jetson Orin needs its own sm_87
        ((8, 7), JETSON, "sass"),
        ((8, 9), JETSON, "sass"),  # via sm_80, never via the Jetson sm_87
        ((7, 2), CU126, None),  # Xavier: same rule
        ((3, 5), CU126, None),
    ],
)
def test_cc_covered(cc: tuple[int, int], arch: ArchList, how: str | None) -> None:
    assert compat.cc_covered(cc, arch) == how


LINUX = PlatformTarget("linux", "x86_64")
WINDOWS = PlatformTarget("windows", "x86_64")


@pytest.mark.parametrize(
    ("variant", "platform", "rule", "floor"),
    [
        ("cu118", LINUX, "minor", "450.80.02"),
        ("cu128", LINUX, "minor", "525.60.13"),
        ("cu128", WINDOWS, "minor", "528.33"),  # Windows has its own numbers
        ("cu130", LINUX, "minor", "580"),
        ("cu126", LINUX, "strict", "560.35.05"),  # the 12.6 toolkit's own minimum
        ("cu128", LINUX, "strict", "570.124.06"),  # the newest 12.8 update torch builds use
        ("cu130", WINDOWS, "strict", "580"),  # NVIDIA lists no Windows minimum for 13.x
        ("cpu", LINUX, "minor", None),
    ],
)
def test_driver_floor(catalog: Catalog, variant: str, platform: PlatformTarget, rule: str, floor: str | None) -> None:
    got = compat.driver_floor(catalog, parse_variant(variant), platform, rule)  # type: ignore[arg-type]
    assert got == (DriverVersion(floor) if floor else None)
    assert str(got) == str(floor)  # printed as NVIDIA writes it


@pytest.mark.parametrize(
    ("driver", "major"),
    [("580.65.06", 13), ("579.99", 12), ("525.60.13", 12), ("525.60.12", 11), ("450.80.02", 11), ("418.87", None)],
)
def test_driver_cuda_major(catalog: Catalog, driver: str, major: int | None) -> None:
    assert compat.driver_cuda_major(catalog, DriverVersion(driver), LINUX) == major


def test_unconfirmed_is_not_usable_offline() -> None:
    assert not compat.usable("unconfirmed")
    assert compat.usable("unconfirmed", live=True)
    assert compat.usable("secondary")
