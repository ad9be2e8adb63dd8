"""Pure parsers for what the host probes read: each takes raw text, returns a value or None.

``detect`` does the I/O; everything here is testable with captured real outputs.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

_PROC_DRIVER = re.compile(r"Kernel Module(?: for \S+)?\s+(\d+\.\d+(?:\.\d+)?)")
_DRIVER = re.compile(r"\d{2,4}\.\d+(?:\.\d+)?")


def parse_proc_driver_version(text: str) -> str | None:
    """``/proc/driver/nvidia/version``: proprietary and open kernel modules word it differently."""
    m = _PROC_DRIVER.search(text)
    return m[1] if m else None


def parse_sys_module_version(text: str) -> str | None:
    """``/sys/module/nvidia/version``: the loaded kernel module, e.g. ``550.144.03``."""
    value = text.strip()
    return value if _DRIVER.fullmatch(value) else None


@dataclass(frozen=True)
class SmiGpu:
    """One row of ``nvidia-smi --query-gpu=...``; fields nvidia-smi could not give are None."""

    index: int
    uuid: str | None
    name: str | None
    driver: str | None
    cc: tuple[int, int] | None
    memory_mib: int | None


SMI_FIELDS = "index,uuid,name,driver_version,compute_cap,memory.total"
SMI_FIELDS_OLD = "index,uuid,name,driver_version,memory.total"  # drivers before ~510 reject compute_cap


def _na(value: str) -> str | None:
    v = value.strip()
    return None if not v or v.startswith("[") or v in ("N/A", "ERR!") else v


def parse_cc(text: str | None) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d{1,2})\.(\d)", (text or "").strip())
    return (int(m[1]), int(m[2])) if m else None


def parse_smi_query(stdout: str, *, with_cc: bool = True) -> list[SmiGpu]:
    """CSV rows (``--format=csv,noheader,nounits``); ``[N/A]`` / ``[Not Supported]`` become None."""
    gpus = []
    for row in csv.reader(line for line in stdout.splitlines() if line.strip()):
        cells = [c.strip() for c in row]
        if len(cells) != (6 if with_cc else 5) or not cells[0].isdigit():
            continue
        cc_cell = cells[4] if with_cc else None
        mem = _na(cells[-1])
        name = _na(cells[2])
        gpus.append(
            SmiGpu(
                index=int(cells[0]),
                uuid=_na(cells[1]),
                name=name,
                driver=_na(cells[3]),
                cc=parse_cc(cc_cell) if with_cc else cc_from_name(name),
                memory_mib=int(float(mem)) if mem and re.fullmatch(r"\d+(\.\d+)?", mem) else None,
            )
        )
    return gpus


def smi_failure(stdout: str, stderr: str) -> str | None:
    """The diagnosis for nvidia-smi's known failure texts (it prints some of them on stdout)."""
    text = f"{stdout}\n{stderr}"
    if "Driver/library version mismatch" in text:
        return "driver/library version mismatch: the kernel module and user-space driver differ; reboot needed"
    if "is not a valid field to query" in text:
        return "old-driver"
    if "couldn't communicate with the NVIDIA driver" in text:
        return "nvidia-smi cannot reach the NVIDIA driver (not loaded, or a Linux driver installed inside WSL)"
    if "No devices were found" in text:
        return "nvidia-smi found no GPU"
    if m := re.search(r"Failed to initialize NVML: ([^\n]+)", text):
        return f"NVML failed to initialize: {m[1].strip()}"
    return None


# Names nvidia-smi prints → compute capability, for drivers too old to report compute_cap.
# Order matters: more specific patterns first.
_NAME_CC: tuple[tuple[str, tuple[int, int]], ...] = (
    (r"RTX 50\d0|RTX PRO \d000 Blackwell", (12, 0)),
    (r"\bG?B300\b", (10, 3)),
    (r"\bG?B200\b", (10, 0)),
    (r"H100|H200|GH200|H800|H20\b", (9, 0)),
    (r"RTX 40\d0|RTX [456]000 Ada|\bL4\b|\bL40S?\b|RTX 2000 Ada", (8, 9)),
    (r"RTX 30\d0|\bA10G?\b|\bA40\b|\bA16\b|\bA2\b|RTX A\d000", (8, 6)),
    (r"A100|A800|\bA30\b", (8, 0)),
    (r"RTX 20\d0|GTX 16\d0|\bT4\b|Quadro RTX|TITAN RTX", (7, 5)),
    (r"V100|TITAN V|Quadro GV100", (7, 0)),
    (r"P100|Quadro GP100", (6, 0)),
    (r"GTX 10\d0|\bP40\b|\bP4\b|TITAN Xp|TITAN X \(Pascal\)|Quadro P\d", (6, 1)),
    (r"GTX 9\d0|GTX TITAN X|\bM40\b|\bM60\b|Quadro M\d", (5, 2)),
    (r"\bK80\b", (3, 7)),
    (r"\bK40\b|\bK20\b|GTX 780|GTX TITAN\b", (3, 5)),
)


def cc_from_name(name: str | None) -> tuple[int, int] | None:
    """Best-effort compute capability from a marketing name; None when unknown."""
    for pattern, cc in _NAME_CC:
        if name and re.search(pattern, name):
            return cc
    return None


@dataclass(frozen=True)
class Visible:
    """A parsed ``CUDA_VISIBLE_DEVICES``: None = all; indices and/or UUIDs otherwise."""

    entries: tuple[str, ...] | None


def parse_visible_devices(value: str | None) -> Visible:
    """torch's rules: parse like strtoul, a negative value ends the list, a repeat empties it."""
    if value is None:
        return Visible(None)
    out: list[str] = []
    for raw in value.split(","):
        item = raw.strip()
        if item.startswith(("GPU-", "MIG-")):
            entry = item
        else:
            m = re.match(r"[+-]?\d+", item)
            if not m or int(m[0]) < 0:
                break
            entry = str(int(m[0]))
        if entry in out:
            return Visible(())
        out.append(entry)
    return Visible(tuple(out))


def parse_tegra_release(text: str) -> str | None:
    """``# R36 (release), REVISION: 4.0, ...`` → L4T ``36.4.0``."""
    m = re.search(r"R(\d+) \(release\), REVISION: (\d+)\.(\d+)", text)
    return f"{m[1]}.{m[2]}.{m[3]}" if m else None


# tegra_chip_id → compute capability of the iGPU (Jetson modules).
TEGRA_CC = {0x21: (5, 3), 0x18: (6, 2), 0x19: (7, 2), 0x23: (8, 7), 0x26: (10, 1)}


def decode_gfx_target_version(value: int) -> str | None:
    """KFD ``gfx_target_version`` → gfx name: 110000 → gfx1100, 90010 → gfx90a; 0 = a CPU node."""
    if value <= 0:
        return None
    major, minor, step = value // 10000, (value // 100) % 100, value % 100
    return f"gfx{major}{minor:x}{step:x}"


def parse_kfd_properties(text: str) -> str | None:
    m = re.search(r"^gfx_target_version\s+(\d+)\s*$", text, re.MULTILINE)
    return decode_gfx_target_version(int(m[1])) if m else None


def parse_rocm_agents(stdout: str) -> list[str]:
    """``rocm_agent_enumerator -name``: one gfx per line, ``gfx000`` is the CPU agent."""
    return [
        line.strip()
        for line in stdout.splitlines()
        if re.fullmatch(r"gfx[0-9a-f]+", line.strip()) and line.strip() != "gfx000"
    ]


def parse_rocm_version(text: str) -> str | None:
    m = re.match(r"\s*(\d+\.\d+(?:\.\d+)?)", text)
    return m[1] if m else None


def is_wsl(proc_version: str) -> bool:
    return "microsoft" in proc_version.lower()


def parse_cuda_hint(cuda_version: str | None, require_cuda: str | None) -> tuple[int, int] | None:
    """The CUDA an nvidia/cuda image targets: ``CUDA_VERSION=12.4.1`` or ``NVIDIA_REQUIRE_CUDA=cuda>=12.4 …``."""
    m = re.match(r"\s*(\d+)\.(\d+)", cuda_version or "") or re.search(r"cuda>=(\d+)\.(\d+)", require_cuda or "")
    return (int(m[1]), int(m[2])) if m else None


# PCI device ids of Intel *discrete* GPUs the XPU builds support (Arc A / Data Center Max / Arc B);
# integrated GPUs share the vendor id and are skipped.
_INTEL_DISCRETE = re.compile(r"^0x(56[0-9a-f]{2}|0bd[0-9a-f]|0b6e|e20[0-9a-f]|e21[0-9a-f])$")


def is_intel_discrete(vendor: str, device: str, pci_class: str) -> bool:
    if vendor.strip().lower() != "0x8086" or not pci_class.strip().lower().startswith("0x03"):
        return False
    return bool(_INTEL_DISCRETE.match(device.strip().lower()))


def is_rosetta(machine: str, proc_translated: int | None) -> bool:
    """An x86_64 Python on Apple silicon: the process is translated even though machine() says x86_64."""
    return machine == "x86_64" and proc_translated == 1


def windows_nvidia_paths(env: dict[str, str]) -> tuple[list[str], list[str]]:
    """Where NVIDIA puts nvml.dll and nvidia-smi.exe: DCH drivers in System32, older in NVSMI."""
    windir = env.get("WINDIR", r"C:\Windows")
    progs = env.get("PROGRAMFILES") or env.get("ProgramFiles") or r"C:\Program Files"
    nvsmi = progs + r"\NVIDIA Corporation\NVSMI"
    sys32 = windir + r"\System32"
    return [sys32 + r"\nvml.dll", nvsmi + r"\nvml.dll"], [sys32 + r"\nvidia-smi.exe", nvsmi + r"\nvidia-smi.exe"]
