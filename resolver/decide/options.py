"""The one definition of the TARGET options: flag, environment variable, field, help.

The CLI builds its click options from ``TARGET``, every command that takes a target (``lock``,
``install``, ``detect``) uses them, and the README's table is tested against them, so a new
option or variable can't reach one command and miss another.
"""

from __future__ import annotations

from typing import NamedTuple


class Option(NamedTuple):
    flag: str
    field: str  # the TargetFlags field it fills
    metavar: str | None
    help: str
    multiple: bool = False
    is_flag: bool = False
    choices: tuple[str, ...] = ()
    default: str | None = None

    @property
    def envvar(self) -> str:
        return "TORCHPIN_" + self.flag.removeprefix("--").upper().replace("-", "_")


TARGET: tuple[Option, ...] = (
    Option("--backend", "backend", None, "Build family: auto, cpu, cuXYZ, rocmX.Y[.Z] or xpu.", default="auto"),
    Option(
        "--python-version",
        "python_version",
        "X.Y[t]",
        "Target CPython; 't' = free-threaded. Default: this interpreter (torchpin installed as a tool: the "
        "environment install would use).",
    ),
    Option(
        "--python-platform",
        "python_platform",
        "P",
        "uv's names: linux, windows, macos, x86_64-manylinux_2_28, aarch64-apple-darwin, ...",
    ),
    Option("--glibc", "glibc", "X.Y", "glibc of the target (Linux)."),
    Option("--macos-version", "macos_version", "X.Y", "macOS of the target."),
    Option("--driver", "driver", "VERSION", "NVIDIA driver, e.g. 550.54.15."),
    Option("--gpu-cc", "gpu_cc", "X.Y", "Compute capability of each NVIDIA GPU (repeat per GPU).", multiple=True),
    Option("--amd-gfx", "amd_gfx", "gfxNNNN", "AMD GPU architecture (repeat per GPU).", multiple=True),
    Option("--no-detect", "no_detect", None, "Probe nothing: what the flags don't say is absent.", is_flag=True),
    Option(
        "--cuda-compat",
        "cuda_compat",
        None,
        "Driver rule: NVIDIA minor-version compatibility, or the toolkit's own minimum.",
        choices=("minor", "strict"),
        default="minor",
    ),
)

ENV_VARS: tuple[str, ...] = tuple(o.envvar for o in TARGET)
