"""Pure parsers of probe output, fed the real texts drivers and tools print."""

from __future__ import annotations

import pytest

from tests.support.fake_machine import PROC_OPEN, PROC_PROPRIETARY, SMI_INVALID_FIELD, SMI_MISMATCH
from torchpin.machine import probes


@pytest.mark.parametrize(
    ("text", "version"),
    [
        (PROC_OPEN, "550.144.03"),  # the open kernel module names its architecture
        (PROC_PROPRIETARY, "375.74"),  # the proprietary one does not
        ("", None),
        ("NVRM version: garbage\n", None),
    ],
)
def test_proc_driver_version(text: str, version: str | None) -> None:
    assert probes.parse_proc_driver_version(text) == version


@pytest.mark.parametrize(
    ("text", "version"), [("550.144.03\n", "550.144.03"), ("580.65\n", "580.65"), ("N/A", None), ("", None)]
)
def test_sys_module_version(text: str, version: str | None) -> None:
    assert probes.parse_sys_module_version(text) == version


SMI_TWO = (
    "0, GPU-5f1a2b3c-0000-1111-2222-333344445555, NVIDIA GeForce RTX 4090, 575.57.08, 8.9, 24564\n"
    "1, GPU-9e8d7c6b-0000-1111-2222-333344445555, NVIDIA GeForce RTX 5090, 575.57.08, 12.0, 32607\n"
)


def test_smi_query_two_gpus() -> None:
    rows = probes.parse_smi_query(SMI_TWO)
    assert [(r.index, r.name, r.cc, r.memory_mib, r.driver) for r in rows] == [
        (0, "NVIDIA GeForce RTX 4090", (8, 9), 24564, "575.57.08"),
        (1, "NVIDIA GeForce RTX 5090", (12, 0), 32607, "575.57.08"),
    ]


def test_smi_query_not_available_fields() -> None:
    rows = probes.parse_smi_query("0, [N/A], NVIDIA A100-SXM4-40GB, 535.104.05, [N/A], [Not Supported]\n")
    assert rows[0].uuid is None and rows[0].cc is None and rows[0].memory_mib is None


def test_smi_query_old_driver_maps_names() -> None:
    rows = probes.parse_smi_query("0, GPU-1, Tesla T4, 470.256.02, 15109\n", with_cc=False)
    assert rows[0].cc == (7, 5)


def test_smi_query_ignores_noise() -> None:
    assert probes.parse_smi_query("index, uuid, name\nFailed to initialize NVML: Unknown Error\n") == []


@pytest.mark.parametrize(
    ("stdout", "stderr", "fragment"),
    [
        (SMI_MISMATCH, "", "reboot needed"),
        (SMI_INVALID_FIELD, "", "old-driver"),
        ("", "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "cannot reach"),
        ("No devices were found\n", "", "no GPU"),
        ("Failed to initialize NVML: Insufficient Permissions\n", "", "Insufficient Permissions"),
        (SMI_TWO, "", None),
    ],
)
def test_smi_failure(stdout: str, stderr: str, fragment: str | None) -> None:
    got = probes.smi_failure(stdout, stderr)
    assert (got is None) if fragment is None else (got is not None and fragment in got)


@pytest.mark.parametrize(
    ("name", "cc"),
    [
        ("NVIDIA GeForce RTX 5090", (12, 0)),
        ("NVIDIA B200", (10, 0)),
        ("NVIDIA H100 80GB HBM3", (9, 0)),
        ("NVIDIA GeForce RTX 4090", (8, 9)),
        ("NVIDIA L4", (8, 9)),
        ("NVIDIA A10G", (8, 6)),
        ("NVIDIA A100-SXM4-80GB", (8, 0)),
        ("Tesla T4", (7, 5)),
        ("Tesla V100-SXM2-16GB", (7, 0)),
        ("Tesla P100-PCIE-16GB", (6, 0)),
        ("NVIDIA GeForce GTX 1080 Ti", (6, 1)),
        ("Tesla K80", (3, 7)),
        ("Some Future GPU", None),
    ],
)
def test_cc_from_name(name: str, cc: tuple[int, int] | None) -> None:
    assert probes.cc_from_name(name) == cc


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        (None, None),  # unset: every GPU
        ("", ()),
        ("0,1", ("0", "1")),
        ("1gpu2,2ampere", ("1", "2")),  # strtoul-style, as torch parses it
        ("0,-1,1", ("0",)),  # a negative value ends the list
        ("-1", ()),
        ("0,0", ()),  # a repeated ordinal hides everything
        ("GPU-5f1a,1", ("GPU-5f1a", "1")),
    ],
)
def test_visible_devices(value: str | None, entries: tuple[str, ...] | None) -> None:
    assert probes.parse_visible_devices(value).entries == entries


def test_tegra_release() -> None:
    text = "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64, DATE: Fri Sep 13\n"
    assert probes.parse_tegra_release(text) == "36.4.0"
    assert probes.parse_tegra_release("garbage") is None


@pytest.mark.parametrize(
    ("value", "gfx"), [(110000, "gfx1100"), (90010, "gfx90a"), (100300, "gfx1030"), (90402, "gfx942"), (0, None)]
)
def test_gfx_target_version(value: int, gfx: str | None) -> None:
    assert probes.decode_gfx_target_version(value) == gfx


def test_kfd_properties_and_agents() -> None:
    assert probes.parse_kfd_properties("cpu_cores_count 0\ngfx_target_version 110000\nvendor_id 4098\n") == "gfx1100"
    assert probes.parse_kfd_properties("cpu_cores_count 16\ngfx_target_version 0\n") is None
    assert probes.parse_rocm_agents("gfx000\ngfx90a\ngfx90a\n") == ["gfx90a", "gfx90a"]
    assert probes.parse_rocm_version("6.4.1-120\n") == "6.4.1"


@pytest.mark.parametrize(
    ("cuda_version", "require", "hint"),
    [
        ("12.4.1", None, (12, 4)),
        (None, "cuda>=12.8 brand=tesla,driver>=470,driver<471", (12, 8)),
        ("13.0.0", "cuda>=12.8", (13, 0)),  # the toolkit version wins
        (None, None, None),
    ],
)
def test_cuda_hint(cuda_version: str | None, require: str | None, hint: tuple[int, int] | None) -> None:
    assert probes.parse_cuda_hint(cuda_version, require) == hint


@pytest.mark.parametrize(
    ("vendor", "device", "cls", "discrete"),
    [
        ("0x8086", "0x56a0", "0x030000", True),  # Arc A770
        ("0x8086", "0xe20b", "0x030000", True),  # Arc B580
        ("0x8086", "0x9a49", "0x030000", False),  # Iris Xe, integrated
        ("0x10de", "0x56a0", "0x030000", False),  # not Intel
        ("0x8086", "0x56a0", "0x040300", False),  # an audio function, not display
    ],
)
def test_intel_discrete(vendor: str, device: str, cls: str, discrete: bool) -> None:
    assert probes.is_intel_discrete(vendor, device, cls) is discrete


def test_rosetta_and_wsl() -> None:
    assert probes.is_rosetta("x86_64", 1)
    assert not probes.is_rosetta("x86_64", None)  # Intel Mac: the sysctl is missing
    assert not probes.is_rosetta("arm64", 0)
    assert probes.is_wsl("Linux version 5.15.90.1-microsoft-standard-WSL2 (oe-user@oe-host)")
    assert not probes.is_wsl("Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)")


def test_windows_paths() -> None:
    dlls, exes = probes.windows_nvidia_paths({"WINDIR": r"D:\Win", "ProgramFiles": r"D:\Progs"})
    assert dlls == [r"D:\Win\System32\nvml.dll", r"D:\Progs\NVIDIA Corporation\NVSMI\nvml.dll"]
    assert exes[0] == r"D:\Win\System32\nvidia-smi.exe"
