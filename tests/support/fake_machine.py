"""Fake machines for the detection tests: a root with /sys, /proc, /etc, executables on PATH,
and the environment `torchpin detect` runs with."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Real outputs, as the reference records them.
PROC_OPEN = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.144.03  Release Build  "
    "(dvs-builder@U16-I3-B03-4-3)  Mon Dec 30 17:26:13 UTC 2024\nGCC version:  gcc version 12.3.0\n"
)
PROC_PROPRIETARY = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  375.74  Wed Jun 14 01:39:39 PDT 2017\n"
SMI_MISMATCH = "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.95\n"
SMI_INVALID_FIELD = 'Field "compute_cap" is not a valid field to query.\n'


def build_fake_nvml(out_dir: Path) -> Path | None:
    """Compile tests/support/fake_nvml.c to out_dir/libnvidia-ml.so.1; None without a C compiler."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    lib = out_dir / "libnvidia-ml.so.1"
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(lib), str(HERE / "fake_nvml.c")], check=True, timeout=120)
    return lib


@dataclass
class FakeMachine:
    """A directory tree standing in for ``/`` plus the environment detect sees."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.root / "bin").mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TORCHPIN_", "CUDA_", "NVIDIA_", "HSA_"))}
        base.pop("LD_LIBRARY_PATH", None)
        # Only the fake bin folder and the Python running the tests: no real nvidia-smi leaks in.
        base["PATH"] = f"{self.root / 'bin'}:{Path(sys.executable).parent}:/usr/bin:/bin"
        base["TORCHPIN_SYSROOT"] = str(self.root)
        base["TORCHPIN_PROBE_TIMEOUT"] = "2"
        base["TORCHPIN_OFFLINE"] = "1"  # detection tests never reach for an index
        self.env = {**base, **self.env}

    def file(self, absolute: str, text: str) -> FakeMachine:
        path = self.root / absolute.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return self

    def tool(
        self, name: str, stdout: str = "", *, exit_code: int = 0, stderr: str = "", sleep: float = 0
    ) -> FakeMachine:
        """An executable on PATH that prints canned output (per-argument cases via $*)."""
        script = self.root / "bin" / name
        body = "#!/bin/sh\n"
        if sleep:
            body += f"sleep {sleep}\n"
        body += f"cat <<'__OUT__'\n{stdout}__OUT__\n" if stdout else ""
        body += f"cat >&2 <<'__ERR__'\n{stderr}__ERR__\n" if stderr else ""
        body += f"exit {exit_code}\n"
        script.write_text(body)
        script.chmod(0o755)
        return self

    def script(self, name: str, body: str) -> FakeMachine:
        path = self.root / "bin" / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)
        return self

    def nvml(self, lib: Path, *, wsl: bool = False, **settings: str) -> FakeMachine:
        """Install the fake NVML: on the loader path, or where WSL mounts it."""
        if wsl:
            dest = self.root / "usr/lib/wsl/lib"
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib, dest / "libnvidia-ml.so.1")
        else:
            self.env["LD_LIBRARY_PATH"] = str(lib.parent)
        self.env.update({f"FAKE_NVML_{k.upper()}": v for k, v in settings.items()})
        return self
