"""Frozen value types shared by every layer; no I/O here."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, NamedTuple

from packaging.specifiers import SpecifierSet
from packaging.version import Version

Status = Literal["confirmed", "secondary", "unconfirmed"]
# Order matters: a fact is only as strong as its weakest part.
STATUS_RANK: dict[str, int] = {"unconfirmed": 0, "secondary": 1, "confirmed": 2}

OS = Literal["linux", "windows", "macos"]
Arch = Literal["x86_64", "aarch64"]
# The snapshot's platform keys: one per (os, arch) PyTorch publishes for.
PLATFORM_KEYS: tuple[str, ...] = (
    "linux_x86_64",
    "linux_aarch64",
    "win_amd64",
    "macos_arm64",
    "macos_x86_64",
)
COMPANIONS: tuple[str, ...] = ("torchvision", "torchaudio", "torchcodec")
# Built against one torch and one CUDA, published on the variant index beside it (README: "The
# PyTorch ecosystem"): paired like companions, by their own declared torch range or, for those
# whose wheels declare none (TABLE_PAIRED), by their publisher's compatibility table.
ECOSYSTEM: tuple[str, ...] = (
    "xformers",
    "torch-tensorrt",
    "torchao",
    "fbgemm-gpu",
    "fbgemm-gpu-genai",
    "torchrec",
    "flash-attn-3",
)
# flash-attn-3 declares a bare `torch`: its builds target torch>=2.9 by the stable ABI.
TABLE_PAIRED: frozenset[str] = frozenset({"torchao", "fbgemm-gpu", "fbgemm-gpu-genai", "torchrec", "flash-attn-3"})
# What an ecosystem package itself requires from the variant index: torchrec's wheels require
# fbgemm-gpu unpinned, so a lock without it would let the installer take PyPI's newest.
BRINGS: dict[str, tuple[str, ...]] = {"torchrec": ("fbgemm-gpu",)}
# The triton build torch itself requires, exactly (its own Requires-Dist): triton from PyPI beside
# a CUDA torch; beside a ROCm or XPU torch its own build, on that variant index only, renamed with
# triton 3.6 (torch 2.10): pytorch-triton-rocm 3.5.x, then triton-rocm (the boundary inferred
# from the published file names). Locked as the chosen torch requires it, never paired apart.
TRITON_BUILDS: tuple[str, ...] = ("triton", "pytorch-triton-rocm", "triton-rocm", "pytorch-triton-xpu", "triton-xpu")
_TRITON_NAMES = {"rocm": ("pytorch-triton-rocm", "triton-rocm"), "xpu": ("pytorch-triton-xpu", "triton-xpu")}
# PyTorch Geometric's compiled extensions: not on the PyTorch index but on data.pyg.org, one
# find-links page per torch minor and variant (``facts.pyg``), each wheel local-tagged with both.
DEFAULT_PYG_URL = "https://data.pyg.org/whl"
PYG: tuple[str, ...] = ("pyg-lib", "torch-scatter", "torch-sparse", "torch-cluster", "torch-spline-conv")
# flash-attn: not on any index but as GitHub release assets, one file per torch minor, CUDA major,
# torch C++ ABI and CPython (``facts.flash_attn``); PyPI has only its sdist, which builds from source.
FLASH_ATTN = "flash-attn"
DEFAULT_FLASH_ATTN_URL = "https://github.com/Dao-AILab/flash-attention/releases/download"
PROJECTS: tuple[str, ...] = ("torch", *COMPANIONS, *ECOSYSTEM, *TRITON_BUILDS, *PYG, FLASH_ATTN)
# Requested packages that can hold torch back: each has builds for some torch releases only.
PAIRED: frozenset[str] = frozenset({*ECOSYSTEM, *PYG, FLASH_ATTN})


def triton_build(family: str, torch: str, platform: str) -> str | None:
    """The name of the triton build a torch release of ``family`` requires on ``platform`` (None:
    none). CUDA torch requires triton on Linux x86_64, and from 2.11 on any Linux."""
    release = tuple(int(part) for part in torch.split("+", maxsplit=1)[0].split(".")[:2] if part.isdigit())
    if not platform.startswith("linux_"):
        return None
    if family == "cuda":
        return "triton" if platform == "linux_x86_64" or release >= (2, 11) else None
    names = _TRITON_NAMES.get(family)
    if names is None:
        return None
    return names[1] if release >= (2, 10) else names[0]


# What "no requirement" means: the trio every install command on pytorch.org names.
TRIO: tuple[str, ...] = ("torch", "torchvision", "torchaudio")


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class DriverVersion:
    """An NVIDIA driver version, compared numerically and printed as written (``450.80.02``)."""

    text: str

    @property
    def key(self) -> tuple[int, ...]:
        parts = tuple(int(p) for p in self.text.split("."))
        return parts + (0,) * (3 - len(parts))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DriverVersion) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: DriverVersion) -> bool:
        return self.key < other.key

    def __str__(self) -> str:
        return self.text


class Family(str, Enum):
    """Build family of a PyTorch variant index."""

    CPU = "cpu"
    CUDA = "cuda"
    ROCM = "rocm"
    XPU = "xpu"


@dataclass(frozen=True, order=True)
class Variant:
    """A PyTorch index variant such as ``cu128``, ``rocm6.4``, ``cpu`` or ``xpu``."""

    family: Family
    # (12, 8) for cu128, (6, 2, 4) for rocm6.2.4; empty for cpu/xpu.
    version: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        if self.family is Family.CUDA:
            major, minor = self.version
            return f"cu{major}{minor}"
        if self.family is Family.ROCM:
            return "rocm" + ".".join(map(str, self.version))
        return str(self.family.value)

    def __str__(self) -> str:
        return self.name

    @property
    def cuda_major(self) -> int | None:
        return self.version[0] if self.family is Family.CUDA else None


@dataclass(frozen=True)
class PythonTarget:
    """A CPython version, optionally free-threaded (``3.14t``)."""

    major: int
    minor: int
    freethreaded: bool = False

    @property
    def version(self) -> Version:
        return Version(f"{self.major}.{self.minor}")

    @property
    def tag(self) -> str:
        return f"cp{self.major}{self.minor}{'t' if self.freethreaded else ''}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}{'t' if self.freethreaded else ''}"


@dataclass(frozen=True)
class PlatformTarget:
    """OS + CPU architecture, with the OS floor the target guarantees (None: not limiting)."""

    os: OS
    arch: Arch
    glibc: Version | None = None
    macos: Version | None = None
    musl: bool = False

    @property
    def key(self) -> str:
        if self.os == "windows":
            return "win_amd64" if self.arch == "x86_64" else "win_arm64"
        if self.os == "macos":
            return "macos_arm64" if self.arch == "aarch64" else "macos_x86_64"
        return f"linux_{self.arch}"

    def __str__(self) -> str:
        if self.os == "linux":
            libc = "musl" if self.musl else (f"glibc {self.glibc}" if self.glibc else "glibc")
            return f"linux {self.arch} ({libc})"
        if self.os == "macos":
            arch = "arm64" if self.arch == "aarch64" else "x86_64"
            return f"macOS {arch}" + (f" {self.macos}" if self.macos else "")
        return f"windows {self.arch}"


@dataclass(frozen=True)
class Gpu:
    """One GPU: NVIDIA compute capability or AMD gfx architecture."""

    cc: tuple[int, int] | None = None
    gfx: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        if self.cc is not None:
            return f"{self.cc[0]}.{self.cc[1]}"
        return self.gfx or self.name or "gpu"


AcceleratorKind = Literal["none", "cuda", "rocm", "xpu", "mps"]


@dataclass(frozen=True)
class Accelerator:
    """What the target can run kernels on."""

    kind: AcceleratorKind = "none"
    driver: DriverVersion | None = None
    gpus: tuple[Gpu, ...] = ()
    # The newest CUDA the driver runs, when known without the driver version
    # (an nvidia/cuda image's CUDA_VERSION at docker-build time).
    cuda_max: tuple[int, int] | None = None


CudaCompat = Literal["minor", "strict"]


@dataclass(frozen=True)
class Target:
    """Everything the policy needs to know about the machine it picks for."""

    python: PythonTarget
    platform: PlatformTarget
    accelerator: Accelerator = field(default_factory=Accelerator)
    backend: Variant | None = None  # None: auto
    cuda_compat: CudaCompat = "minor"


@dataclass(frozen=True)
class Requirement:
    """A user requirement on one torch-family project."""

    project: str
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    marker: str | None = None  # PEP 508 environment marker, evaluated for the target, not this machine
    constraint: bool = False  # from a -c file: narrows a project asked for, never adds one

    def __str__(self) -> str:
        return f"{self.project}{self.specifier}" + (f"; {self.marker}" if self.marker else "")


@dataclass(frozen=True)
class WheelFile:
    """A concrete wheel with what is publicly known about it."""

    filename: str
    url: str | None
    sha256: str | None
    size: int | None = None


@dataclass(frozen=True)
class Pin:
    """One locked package: exact version (with local tag when the index has one)."""

    project: str
    version: str
    wheel: WheelFile | None
    # Written as ``name @ URL``: the variant's file carries no local tag and PyPI has another
    # build under the same name and version (xformers), so only its URL says which file it is.
    direct: bool = False


CheckStatus = Literal["pass", "warn", "fail", "skip"]
Installer = Literal["auto", "uv", "pip"]

# What kind of fact rejected a build, hard facts first: messages pick the decisive gap by
# kind, never by reading their own prose.
RejectionKind = Literal[
    "platform", "python", "os-floor", "requirement", "driver", "arch", "gfx", "companion", "index", "status"
]


@dataclass(frozen=True)
class Rejection:
    """Why a (release, variant) pair was not chosen."""

    release: str
    variant: str
    reason: str
    kind: RejectionKind = "status"


@dataclass(frozen=True)
class Plan:
    """The policy's decision, complete enough to render any lock format."""

    target: Target
    variant: Variant
    release: str
    index_url: str
    on_pypi: bool
    pins: tuple[Pin, ...]
    why: str
    notes: tuple[str, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    source: str = "snapshot"  # or "live"
    source_detail: str = ""
    find_links: bool = False  # index_url is a flat --find-links page, PyPI the index
    pypi_url: str = "https://pypi.org/simple"  # where everything else comes from
    companions_why: tuple[str, ...] = ()  # why each companion is the version it is
    pyg_url: str = DEFAULT_PYG_URL  # where PyG's pages are (a pin by version names its page)


# Where a plan's files come from: the value the policy is handed, validated once by the caller.
# The catalog says what exists; Sources says where to fetch it, so one catalog serves every mirror.
DEFAULT_PYTORCH_INDEX = "https://download.pytorch.org/whl"
DEFAULT_PYPI_INDEX = "https://pypi.org/simple"

SourceLabel = Literal["snapshot", "live"]


class Sources(NamedTuple):
    """Credential-free index roots, and where the facts the policy read came from."""

    pytorch: str = DEFAULT_PYTORCH_INDEX  # pages at <pytorch>/<variant>/<project>/
    find_links: str | None = None  # a flat mirror: <find_links>/<variant>/ lists every wheel
    pypi: str = DEFAULT_PYPI_INDEX  # everything else (or a PyPI proxy: Artifactory, devpi …)
    label: SourceLabel = "snapshot"
    detail: str = ""
    pyg: str = DEFAULT_PYG_URL  # PyG's pages: <pyg>/torch-X.Y.0+<variant>.html
    flash_attn: str = DEFAULT_FLASH_ATTN_URL  # flash-attn's release assets: <flash_attn>/v<version>/<file>

    def variant_index(self, variant: Variant) -> str:
        """The index (or flat page) a variant's wheels come from."""
        if self.find_links is not None:
            return f"{self.find_links.rstrip('/')}/{variant.name}/"
        return f"{self.pytorch.rstrip('/')}/{variant.name}"


DEFAULT_SOURCES = Sources()
