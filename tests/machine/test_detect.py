"""`torchpin detect` on fake machines: real probes (subprocesses, ctypes into a compiled fake
NVML) against fake roots, compared with golden JSON. Set UPDATE_GOLDEN=1 to rewrite them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run as run_cli
from tests.support.fake_machine import (
    PROC_OPEN,
    SMI_INVALID_FIELD,
    SMI_MISMATCH,
    FakeMachine,
    build_fake_nvml,
)
from tests.support.newest import AUDIO, VISION
from tests.support.newest import TORCH as NEWEST
from tests.support.schemas import valid

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "detect"
SMI_ONE = "0, GPU-0b1c2d3e-aaaa-bbbb-cccc-ddddeeeeffff, Tesla T4, 535.104.05, 7.5, 15360\n"


@pytest.fixture(scope="session")
def nvml_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lib = build_fake_nvml(tmp_path_factory.mktemp("nvml"))
    if lib is None:
        pytest.skip("no C compiler (gcc/cc) to build the fake libnvidia-ml.so.1")
    return lib


@pytest.fixture
def machine(tmp_path: Path) -> FakeMachine:
    return FakeMachine(tmp_path / "root")


def detect(m: FakeMachine, *args: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    r = run_cli("detect", "--json", *args, env=m.env, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    valid("detect", doc)  # every recorded machine's real output meets the published schema
    return doc, r


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop what belongs to the interpreter running the tests, not to the fake machine."""
    out = {k: v for k, v in doc.items() if k not in ("python", "overrides", "hostname")}
    out["platform"] = {k: v for k, v in doc["platform"].items() if k != "glibc"}
    out["overrides"] = {k: v for k, v in doc["overrides"].items() if k != "TORCHPIN_SYSROOT"}
    out["would_choose"] = {k: v for k, v in doc["would_choose"].items() if k != "why"}
    return out


def check_golden(name: str, doc: dict[str, Any]) -> None:
    path = GOLDEN / f"{name}.json"
    got = normalized(doc)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 once and review it"
    assert got == json.loads(path.read_text())


def test_this_machine_has_no_gpu() -> None:
    if Path("/dev/nvidiactl").exists() or Path("/dev/kfd").exists():
        pytest.skip("this machine has a GPU; the golden describes the GPU-less development machines")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TORCHPIN_", "CUDA_", "NVIDIA_"))}
    r = run_cli("detect", "--json", env=env, timeout=60, check=True)
    doc = json.loads(r.stdout)
    got = normalized(doc)
    got["platform"].pop("container")  # docker here, maybe not on a developer's machine
    # This CPU's x86-64 level, and so its variant properties, are another machine's elsewhere.
    assert got["platform"].pop("x86_64_level") in ("v1", "v2", "v3", "v4", None)
    assert set(got.pop("variant_properties")["supported"]) <= {"x86_64"}
    # The newest trio changes with every refresh: the golden names it, not its numbers.
    newest = {f"torch=={NEWEST}+cpu": "torch==NEWEST+cpu", f"torchvision=={VISION}+cpu": "torchvision==PAIRED+cpu"}
    newest[f"torchaudio=={AUDIO}+cpu"] = "torchaudio==PAIRED+cpu"
    got["would_choose"]["packages"] = [newest.get(p, p) for p in got["would_choose"]["packages"]]
    path = GOLDEN / "no_gpu_host.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text())
    assert doc["python"]["executable"] == sys.executable


def test_nvml_two_gpus(machine: FakeMachine, nvml_lib: Path) -> None:
    machine.file("/sys/module/nvidia/version", "575.57.08\n").file("/proc/driver/nvidia/version", PROC_OPEN)
    machine.nvml(
        nvml_lib,
        driver="575.57.08",
        cuda="12090",
        gpus="NVIDIA GeForce RTX 4090|8.9|24564;NVIDIA GeForce RTX 5090|12.0|32607",
    )
    doc, _ = detect(machine)
    check_golden("nvml_two_gpus", doc)
    assert doc["nvidia"]["driver_source"] == "NVML" and doc["nvidia"]["cuda_max"] == "12.9"
    # sm_89 + sm_120 on a 575 driver: cu128 (2.11.0); CUDA 13 needs 580
    assert doc["would_choose"]["backend"] == "cu128"


def test_nvml_version_mismatch_means_reboot(machine: FakeMachine, nvml_lib: Path) -> None:
    machine.file("/sys/module/nvidia/version", "580.95.05\n")
    machine.nvml(nvml_lib, init_rc="18")
    doc, _ = detect(machine)
    check_golden("nvml_mismatch", doc)
    assert any("error 18" in n and "reboot" in n for n in doc["notes"])
    assert doc["nvidia"]["driver"] == "580.95.05" and doc["nvidia"]["driver_source"] == "/sys/module/nvidia"


def test_kernel_module_newer_than_userspace(machine: FakeMachine, nvml_lib: Path) -> None:
    machine.file("/sys/module/nvidia/version", "580.95.05\n")
    machine.nvml(nvml_lib, driver="575.57.08", gpus="NVIDIA L4|8.9|23034")
    doc, _ = detect(machine)
    assert any("kernel module 580.95.05 but user-space driver 575.57.08" in n for n in doc["notes"])


def test_nvidia_smi_only(machine: FakeMachine) -> None:
    machine.file("/proc/driver/nvidia/version", PROC_OPEN.replace("550.144.03", "535.104.05"))
    machine.tool("nvidia-smi", SMI_ONE)
    doc, _ = detect(machine)
    check_golden("smi_t4", doc)
    assert doc["notes"] == []  # kernel module and nvidia-smi agree
    assert doc["nvidia"]["gpus"][0]["cc"] == "7.5" and doc["nvidia"]["driver_source"] == "nvidia-smi"


def test_old_nvidia_smi_without_compute_cap(machine: FakeMachine) -> None:
    # The first query (with compute_cap) fails as old drivers do; the retry without it works.
    body = (
        "case \"$*\" in *compute_cap*) printf '%s' '" + SMI_INVALID_FIELD + "'; exit 2;; esac\n"
        "echo '0, GPU-1, Tesla P100-PCIE-16GB, 470.256.02, 16280'\n"
    )
    machine.file("/proc/driver/nvidia/version", PROC_OPEN).script("nvidia-smi", body)
    doc, _ = detect(machine)
    assert doc["nvidia"]["gpus"][0]["cc"] == "6.0"
    assert any("too old to report compute capability" in n for n in doc["notes"])


def test_nvidia_smi_mismatch_text(machine: FakeMachine) -> None:
    machine.file("/proc/driver/nvidia/version", PROC_OPEN).tool("nvidia-smi", SMI_MISMATCH, exit_code=18)
    doc, _ = detect(machine)
    assert any("version mismatch" in n and "reboot" in n for n in doc["notes"])
    assert doc["nvidia"]["driver"] == "550.144.03"  # still known, from /proc
    assert doc["accelerator"]["kind"] == "cuda"


def test_nvidia_smi_not_available_fields(machine: FakeMachine) -> None:
    machine.file("/proc/driver/nvidia/version", PROC_OPEN)
    machine.tool("nvidia-smi", "0, [N/A], NVIDIA A100-SXM4-40GB, 550.144.03, [N/A], [N/A]\n")
    doc, _ = detect(machine)
    gpu = doc["nvidia"]["gpus"][0]
    assert gpu["cc"] is None and gpu["uuid"] is None and gpu["memory_mib"] is None


def test_hanging_nvidia_smi_is_cut_off(machine: FakeMachine) -> None:
    machine.env["TORCHPIN_PROBE_TIMEOUT"] = "1"
    machine.file("/proc/driver/nvidia/version", PROC_OPEN).tool("nvidia-smi", "never\n", sleep=30)
    start = time.monotonic()
    doc, _ = detect(machine)
    elapsed = time.monotonic() - start
    # NVML is absent here, so nvidia-smi is the one probe that hangs: about one timeout.
    assert elapsed < 5, elapsed
    assert any("nvidia-smi did not answer within 1 s" in n for n in doc["notes"])


def test_hanging_nvml_is_cut_off(machine: FakeMachine, nvml_lib: Path) -> None:
    machine.env["TORCHPIN_PROBE_TIMEOUT"] = "1"
    machine.file("/sys/module/nvidia/version", "550.54.15\n").nvml(nvml_lib, hang="30")
    start = time.monotonic()
    doc, _ = detect(machine)
    assert time.monotonic() - start < 5
    assert any("the NVML probe did not answer" in n for n in doc["notes"])
    assert doc["nvidia"]["driver"] == "550.54.15"


def test_wsl(machine: FakeMachine, nvml_lib: Path) -> None:
    machine.file("/proc/version", "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f)\n")
    machine.nvml(nvml_lib, wsl=True, driver="566.36", gpus="NVIDIA GeForce RTX 3060|8.6|12288")
    doc, _ = detect(machine)
    check_golden("wsl", doc)
    assert doc["platform"]["wsl"] is True and doc["nvidia"]["driver"] == "566.36"


def test_jetson(machine: FakeMachine) -> None:
    machine.file(
        "/etc/nv_tegra_release", "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic, EABI: aarch64\n"
    )
    machine.file("/sys/module/tegra_fuse/parameters/tegra_chip_id", "35\n")
    doc, _ = detect(machine)
    check_golden("jetson", doc)
    assert doc["jetson"] == {"l4t": "36.4.0", "cc": "8.7"}
    assert "no Jetson wheels" in doc["decided_by"]
    assert "NVIDIA's Jetson" in doc["would_choose"]["error"] and doc["would_choose"]["exit_code"] == 3


def test_rocm_kfd(machine: FakeMachine) -> None:
    nodes = "/sys/class/kfd/kfd/topology/nodes"
    machine.file(f"{nodes}/0/properties", "cpu_cores_count 16\ngfx_target_version 0\n")
    machine.file(f"{nodes}/1/properties", "cpu_cores_count 0\ngfx_target_version 110000\n")
    machine.file("/opt/rocm/.info/version", "6.4.1-120\n")
    doc, _ = detect(machine)
    check_golden("rocm_kfd", doc)
    assert doc["amd"] == {"gfx": ["gfx1100"], "rocm_version": "6.4.1", "source": "KFD topology"}
    assert doc["would_choose"]["backend"] == "rocm7.2"


def test_rocm_agent_enumerator(machine: FakeMachine) -> None:
    machine.tool("rocm_agent_enumerator", "gfx000\ngfx90a\n")
    machine.env["HSA_OVERRIDE_GFX_VERSION"] = "9.0.10"
    doc, _ = detect(machine)
    assert doc["amd"]["gfx"] == ["gfx90a"] and doc["amd"]["source"] == "rocm_agent_enumerator"
    assert any("HSA_OVERRIDE_GFX_VERSION" in n for n in doc["notes"])


def test_intel_discrete_only(machine: FakeMachine) -> None:
    for slot, device in (("0000:00:02.0", "0x9a49"), ("0000:03:00.0", "0x56a0")):
        base = f"/sys/bus/pci/devices/{slot}"
        machine.file(f"{base}/vendor", "0x8086\n").file(f"{base}/device", f"{device}\n").file(
            f"{base}/class", "0x030000\n"
        )
    doc, _ = detect(machine)
    assert doc["intel"] == ["0x56a0"] and doc["accelerator"]["kind"] == "xpu"


def test_docker_build_hint(machine: FakeMachine) -> None:
    machine.env.update(CUDA_VERSION="12.8.1", NVIDIA_REQUIRE_CUDA="cuda>=12.8 brand=tesla,driver>=470,driver<471")
    machine.file("/.dockerenv", "")
    doc, _ = detect(machine)
    check_golden("docker_build_cuda128", doc)
    assert doc["build_hint"] == {"cuda": "12.8", "source": "CUDA_VERSION=12.8.1"}
    assert "CUDA_VERSION=12.8.1" in doc["decided_by"]
    # CUDA 13 builds are out; the newest torch with a CUDA 12 build is 2.14.1's cu126
    assert doc["would_choose"]["backend"] == "cu126"
    assert doc["would_choose"]["packages"][0] == "torch==2.14.1+cu126"
    # naming the GPU the image is for keeps the hint and adds the arch check
    machine.env["TORCHPIN_GPU_CC"] = "12.0"
    blackwell, _ = detect(machine)
    assert blackwell["would_choose"]["packages"][0] == "torch==2.11.0+cu128"


def test_visible_devices_limit_the_arch_check(machine: FakeMachine, nvml_lib: Path) -> None:
    machine.file("/sys/module/nvidia/version", "580.95.05\n")
    machine.nvml(
        nvml_lib, driver="580.95.05", cuda="13000", gpus="Tesla P100-PCIE-16GB|6.0|16280;NVIDIA H100|9.0|81559"
    )
    all_gpus, _ = detect(machine)
    assert all_gpus["would_choose"]["backend"] == "cu126"  # the P100 needs sm_60
    machine.env["CUDA_VISIBLE_DEVICES"] = "1"
    only_h100, _ = detect(machine)
    assert only_h100["nvidia"]["visible"] == [1]
    assert only_h100["would_choose"]["backend"].startswith("cu13")  # sm_90 alone: CUDA 13 is open again
    assert any("1 of 2 GPUs visible" in n for n in only_h100["notes"])
    assert any("CUDA_DEVICE_ORDER=PCI_BUS_ID" in n for n in only_h100["notes"])


def test_overrides_are_reported_and_win(machine: FakeMachine, nvml_lib: Path) -> None:
    machine.file("/sys/module/nvidia/version", "580.95.05\n").nvml(
        nvml_lib, driver="580.95.05", gpus="NVIDIA H100|9.0|81559"
    )
    machine.env.update(TORCHPIN_BACKEND="cpu")
    doc, _ = detect(machine)
    assert doc["overrides"]["TORCHPIN_BACKEND"] == "cpu"
    assert doc["would_choose"]["backend"] == "cpu"


def test_table_goes_to_stderr(machine: FakeMachine, nvml_lib: Path) -> None:
    machine.file("/sys/module/nvidia/version", "575.57.08\n").nvml(
        nvml_lib, driver="575.57.08", gpus="NVIDIA GeForce RTX 4090|8.9|24564"
    )
    r = run_cli("detect", env=machine.env, timeout=60, check=True)
    assert r.stdout == ""
    assert "GPU 0" in r.stderr and "NVIDIA GeForce RTX 4090 (cc 8.9, 24564 MiB)" in r.stderr and "NVML" in r.stderr


def _lock(m: FakeMachine, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("lock", "torch", *args, env=m.env, timeout=60)


def test_lock_uses_detection_and_flags_override_it(machine: FakeMachine, nvml_lib: Path) -> None:
    machine.file("/sys/module/nvidia/version", "575.57.08\n")
    machine.nvml(nvml_lib, driver="575.57.08", cuda="12090", gpus="NVIDIA GeForce RTX 5090|12.0|32607")
    r = _lock(machine, "--python-version", "3.12")
    assert "torch==2.11.0+cu128" in r.stdout
    assert "# note: detected: NVIDIA driver 575.57.08 (NVML)" in r.stdout
    # a flag overrides its part of the detected machine
    assert f"torch=={NEWEST}+cu132" in _lock(machine, "--python-version", "3.12", "--driver", "595.71.05").stdout
    # another OS never inherits this machine's GPU
    assert f"torch=={NEWEST}+cpu" in _lock(machine, "--python-version", "3.12", "--python-platform", "windows").stdout
    # --no-detect probes nothing
    assert f"torch=={NEWEST}+cpu" in _lock(machine, "--python-version", "3.12", "--no-detect").stdout


def test_container_runtime_exposing_no_gpu(machine: FakeMachine) -> None:
    machine.file("/sys/module/nvidia/version", "550.54.15\n")
    machine.env["NVIDIA_VISIBLE_DEVICES"] = "void"
    doc, _ = detect(machine)
    assert any("NVIDIA_VISIBLE_DEVICES=void" in n for n in doc["notes"])


def test_python_facts_are_this_interpreters() -> None:
    r = run_cli("detect", "--json", timeout=60, check=True)
    py = json.loads(r.stdout)["python"]
    assert py["version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert py["bits"] == 64 and py["implementation"] == "CPython" and py["freethreaded"] is False
