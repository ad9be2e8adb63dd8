"""Which accelerator a detected machine gets, and why (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from torchpin.machine.host import AmdInfo, GpuInfo, Host, NvidiaInfo, decide
from torchpin.models import DriverVersion, PlatformTarget, PythonTarget

LINUX = Host(PythonTarget(3, 12), "CPython", 64, "/usr/bin/python3", PlatformTarget("linux", "x86_64"))
GPU = GpuInfo(0, "NVIDIA L4", (8, 9), 23034, "GPU-1", "NVML")
NVIDIA = NvidiaInfo("550.54.15", "NVML", "550.54.15", "12.4", (GPU,), (GPU,))


@pytest.mark.parametrize(
    ("host", "kind", "words"),
    [
        (LINUX, "none", "no GPU found"),
        (replace(LINUX, nvidia=NVIDIA), "cuda", "NVIDIA driver 550.54.15 (NVML); NVIDIA L4 (8.9)"),
        # a driver without visible GPUs (CUDA_VISIBLE_DEVICES=-1) still means an NVIDIA machine
        (replace(LINUX, nvidia=replace(NVIDIA, visible=())), "cuda", "no GPU visible"),
        (replace(LINUX, amd=AmdInfo(("gfx1100",), "6.4.1", "KFD topology")), "rocm", "AMD gfx1100"),
        (replace(LINUX, intel=("0x56a0",)), "xpu", "Intel discrete"),
        (replace(LINUX, cuda_hint=(12, 8), cuda_hint_source="CUDA_VERSION=12.8.1"), "cuda", "targets CUDA 12.8"),
        # NVIDIA wins over a stale image hint, AMD and Intel
        (
            replace(LINUX, nvidia=NVIDIA, amd=AmdInfo(("gfx1100",), None, "x"), intel=("0x56a0",), cuda_hint=(13, 0)),
            "cuda",
            "NVML",
        ),
        (replace(LINUX, jetson="36.4.0", jetson_cc=(8, 7)), "cuda", "no Jetson wheels"),
        (replace(LINUX, platform=PlatformTarget("macos", "aarch64")), "mps", "Apple silicon"),
        (replace(LINUX, platform=PlatformTarget("macos", "x86_64"), rosetta=True), "none", "under Rosetta"),
        (replace(LINUX, platform=PlatformTarget("macos", "x86_64")), "none", "Intel macOS"),
    ],
)
def test_decide(host: Host, kind: str, words: str) -> None:
    accel, why = decide(host)
    assert accel.kind == kind
    assert words in why


def test_nvidia_accelerator_carries_driver_gpus_and_cuda() -> None:
    accel, _ = decide(replace(LINUX, nvidia=NVIDIA))
    assert accel.driver == DriverVersion("550.54.15")
    assert [g.cc for g in accel.gpus] == [(8, 9)]
    assert accel.cuda_max == (12, 4)
