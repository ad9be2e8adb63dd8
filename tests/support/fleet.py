"""Fleet inventories for the tests and the fleet benchmark: real ``torchpin detect --json``
documents (tests/golden/detect, each recorded from a fake machine) with a node's own facts put in
the fields detection fills: its hostname, Python, arch, glibc, driver and GPUs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, NamedTuple

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "detect"


class NodeSpec(NamedTuple):
    name: str
    arch: str = "x86_64"
    driver: str | None = None
    gpus: tuple[tuple[str, str], ...] = ()  # (name, compute capability) per GPU
    glibc: str = "2.35"
    python: str = "3.12"
    gfx: tuple[str, ...] = ()


V100 = ("Tesla V100-SXM2-32GB", "7.0")
A100 = ("NVIDIA A100-SXM4-80GB", "8.0")
H100 = ("NVIDIA H100 80GB HBM3", "9.0")
GH200 = ("NVIDIA GH200 480GB", "9.0")
B200 = ("NVIDIA B200", "10.0")

# The cluster: V100, A100 and H100 partitions on different drivers, a login node with no
# GPU, and an aarch64 Grace Hopper node.
CLUSTER = (
    NodeSpec("gpu-v100-01", driver="535.104.05", gpus=(V100,) * 8),
    NodeSpec("gpu-v100-02", driver="535.104.05", gpus=(V100,) * 8),
    NodeSpec("gpu-a100-01", driver="550.54.15", gpus=(A100,) * 8),
    NodeSpec("gpu-h100-01", driver="580.65.06", gpus=(H100,) * 8),
    NodeSpec("login-01"),
    NodeSpec("gh200-01", arch="aarch64", driver="580.65.06", gpus=(GH200,)),
)


def inventory(spec: NodeSpec) -> dict[str, Any]:
    """The detect document of ``spec``'s node, from a recorded NVML machine's."""
    doc: dict[str, Any] = copy.deepcopy(json.loads((GOLDEN / "nvml_two_gpus.json").read_text()))
    doc["hostname"] = spec.name
    doc["python"] = {
        "version": spec.python,
        "implementation": "CPython",
        "bits": 64,
        "freethreaded": spec.python.endswith("t"),
        "executable": "/opt/venv/bin/python",
    }
    doc["platform"].update(arch=spec.arch, key=f"linux_{spec.arch}", glibc=spec.glibc)
    if spec.driver is None:
        doc["nvidia"] = None
    else:
        doc["nvidia"].update(driver=spec.driver, kernel_module=spec.driver, visible=list(range(len(spec.gpus))))
        doc["nvidia"]["gpus"] = [
            {"cc": cc, "index": i, "memory_mib": 81559, "name": name, "source": "NVML", "uuid": f"GPU-{spec.name}-{i}"}
            for i, (name, cc) in enumerate(spec.gpus)
        ]
    if spec.gfx:
        doc["amd"] = {"gfx": list(spec.gfx), "rocm_version": "7.1.0", "source": "KFD topology"}
    return doc


def write_fleet(folder: Path, specs: tuple[NodeSpec, ...] = CLUSTER) -> Path:
    """One ``NAME.json`` per node, as ``srun --output=folder/%N.json torchpin detect --json`` leaves them."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        (folder / f"{spec.name}.json").write_text(json.dumps(inventory(spec), indent=2) + "\n")
    return folder
