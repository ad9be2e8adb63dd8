"""`detect --json`'s variant properties: the names and values the wheel-variant providers use
(wheelnext's nvidia-, amd- and x86-64 providers), on recorded machines and by their rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run
from tests.support.fake_machine import FakeMachine
from torchpin.machine.variants import cuda_lower_bounds, sm_arch, x86_64_level

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "detect"
V3 = "fpu sse2 ssse3 sse4_1 sse4_2 cx16 popcnt lahf_lm avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"


def test_cuda_lower_bound_is_every_cuda_the_driver_runs_newest_first() -> None:
    values = cuda_lower_bounds((12, 9))
    assert values[:11] == ["12.9", "12.8", "12.7", "12.6", "12.5", "12.4", "12.3", "12.2", "12.1", "12.0", "12"]
    assert values[11] == "11.20" and values[-2:] == ["11.0", "11"] and len(values) == 11 + 22


def test_sm_arch_is_the_highest_gpus_real_archs_then_its_virtual() -> None:
    assert sm_arch((8, 6)) == [
        "86_real",
        "85_real",
        "84_real",
        "83_real",
        "82_real",
        "81_real",
        "80_real",
        "80_virtual",
    ]
    assert sm_arch((12, 0)) == ["120_real", "120_virtual"]


@pytest.mark.parametrize(
    ("flags", "level"),
    [
        ("fpu sse2", "v1"),
        ("fpu sse2 ssse3 sse4_1 sse4_2 cx16 popcnt lahf_lm", "v2"),
        (V3, "v3"),
        (V3 + " avx512f avx512bw avx512cd avx512dq avx512vl", "v4"),
        (V3.replace(" fma", "") + " avx512f", "v2"),
    ],
)
def test_x86_64_level_needs_every_flag_of_each_level(flags: str, level: str) -> None:
    assert x86_64_level(set(flags.split())) == level


def test_recorded_machines_report_the_providers_names() -> None:
    two = json.loads((GOLDEN / "nvml_two_gpus.json").read_text())["variant_properties"]
    assert two["properties"] == ["nvidia :: cuda_version_lower_bound :: 12.9", "nvidia :: sm_arch :: 120_real"]
    assert two["provider_env"] == {
        "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION": "12.9",
        "NV_VARIANT_PROVIDER_FORCE_SM_ARCH": "12.0",
    }
    rocm = json.loads((GOLDEN / "rocm_kfd.json").read_text())
    assert rocm["variant_properties"]["supported"]["amd"]["gfx_arch"] == rocm["amd"]["gfx"]
    assert rocm["variant_properties"]["provider_env"]["AMD_VARIANT_PROVIDER_GFX_ARCH"] == ",".join(rocm["amd"]["gfx"])


def test_a_cpuinfo_gives_the_level(tmp_path: Path) -> None:
    m = FakeMachine(tmp_path / "root").file("/proc/cpuinfo", f"processor\t: 0\nflags\t\t: {V3}\n\nprocessor\t: 1\n")
    doc = json.loads(run("detect", "--json", env=m.env, check=True).stdout)
    assert doc["platform"]["x86_64_level"] == "v3"
    assert doc["variant_properties"]["supported"]["x86_64"] == {"level": ["v3", "v2", "v1"]}
