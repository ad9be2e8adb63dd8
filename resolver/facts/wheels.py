"""Wheel names, variant names and tag compatibility; ``packaging`` does the parsing."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from packaging import tags
from packaging.tags import Tag
from packaging.utils import BuildTag, InvalidWheelFilename, NormalizedName, parse_wheel_filename
from packaging.version import Version

from torchpin.errors import UsageError
from torchpin.models import Family, PythonTarget, Target, Variant, WheelFile

# The one variant grammar: every reader of a backend name (flags, --target, index folders) uses it.
_VARIANT = re.compile(r"^(?:cu(?P<cu>\d{3,4})|rocm(?P<rocm>\d+(?:\.\d+){1,2})|(?P<plain>cpu|xpu))$", re.ASCII)
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY_MANYLINUX = {"manylinux1": "2.5", "manylinux2010": "2.12", "manylinux2014": "2.17"}
_MACOS = re.compile(r"^macosx_(\d+)_(\d+)_(\w+)$")


@functools.lru_cache(maxsize=8192)
def wheel_parts(filename: str) -> tuple[NormalizedName, Version, BuildTag, frozenset[Tag]]:
    """``packaging``'s wheel-name parser, once per name: the page parser checks every name, and
    the merge and the tag check read the same names again."""
    return parse_wheel_filename(filename)


def wheel_tags(filename: str) -> frozenset[Tag]:
    """A snapshot file's tags alone: its names were checked whole when the snapshot was built, and
    an offline lock reads a few hundred of them (the whole-name parse doubles that cost)."""
    return tags.parse_tag("-".join(filename.removesuffix(".whl").rsplit("-", 3)[-3:]))


@functools.lru_cache(maxsize=256)
def parse_variant(name: str) -> Variant:
    """``cu128`` → CUDA 12.8, ``rocm6.2.4`` → ROCm 6.2.4; raise ``UsageError`` otherwise."""
    m = _VARIANT.match(name.strip().lower())
    if not m:
        raise UsageError(f"unknown backend {name!r}", hint="expected cpu, cuXYZ, rocmX.Y[.Z] or xpu")
    if m["cu"]:
        digits = m["cu"]
        # cu118 = 11.8, cu128 = 12.8, cu130 = 13.0: the last digit is the minor.
        return Variant(Family.CUDA, (int(digits[:-1]), int(digits[-1])))
    if m["rocm"]:
        return Variant(Family.ROCM, tuple(int(p) for p in m["rocm"].split(".")))
    return Variant(Family(m["plain"]))


def nearest_names(name: str, known: list[str], n: int = 3) -> list[str]:
    """Known names closest to a mistyped one, for 'did you mean' hints."""
    return difflib.get_close_matches(name.lower(), known, n=n, cutoff=0.5)


@dataclass(frozen=True)
class ParsedWheel:
    """A wheel filename split into what torchpin decides on."""

    project: str
    version: Version
    build: int | None
    tags: frozenset[Tag]

    @property
    def local(self) -> str | None:
        return self.version.local


def parse_wheel(filename: str) -> ParsedWheel:
    """Parse a wheel filename (``%2B`` already decoded); ``UsageError`` if it is not one."""
    try:
        name, version, build, tags = wheel_parts(filename)
    except InvalidWheelFilename as e:
        raise UsageError(f"not a wheel filename: {filename!r}") from e
    return ParsedWheel(str(name), version, build[0] if build else None, tags)


def platform_key(platform_tag: str) -> str | None:
    """Map a wheel platform tag to the snapshot's platform key (None: not one PyTorch uses)."""
    if platform_tag == "win_amd64":
        return "win_amd64"
    if platform_tag.startswith("macosx_"):
        if platform_tag.endswith(("_arm64", "_universal2")):
            return "macos_arm64"
        return "macos_x86_64" if platform_tag.endswith("_x86_64") else None
    if platform_tag.startswith(("manylinux", "linux_")):
        for arch in ("x86_64", "aarch64"):
            if platform_tag.endswith("_" + arch):
                return "linux_" + arch
    return None


def platform_floor(platform_tag: str) -> Version | None:
    """The glibc or macOS version a platform tag promises to need at most."""
    if m := _MANYLINUX.match(platform_tag):
        return Version(f"{m[1]}.{m[2]}")
    for legacy, glibc in _LEGACY_MANYLINUX.items():
        if platform_tag.startswith(legacy + "_"):
            return Version(glibc)
    if m := _MACOS.match(platform_tag):
        return Version(f"{m[1]}.{m[2]}")
    return None


def python_tag(tag: Tag) -> str:
    """The interpreter/ABI half of a tag as the snapshot stores it, e.g. ``cp312-cp312``."""
    return f"{tag.interpreter}-{tag.abi}"


def python_accepts(python_tags: frozenset[str] | set[str], python: PythonTarget) -> bool:
    """Whether any stored ``interp-abi`` tag installs on the target CPython (pip's tag rules)."""
    return not accepted_pairs(python).isdisjoint(python_tags)


@functools.lru_cache(maxsize=32)
def accepted_pairs(python: PythonTarget) -> frozenset[str]:
    """Every ``interp-abi`` pair the target CPython installs, from ``packaging.tags`` as pip derives
    them: its own ABI (``cp37m`` up to 3.7, ``cp313t`` free-threaded), ``abi3`` of earlier
    versions on GIL builds, ``none``, and the pure ``py3`` tags."""

    version = (python.major, python.minor)
    own = f"cp{python.major}{python.minor}"
    abi = own + "t" if python.freethreaded else own + "m" if version < (3, 8) else own
    found = [*tags.cpython_tags(version, abis=[abi], platforms=["any"])]
    found += tags.compatible_tags(version, interpreter=own, platforms=["any"])
    return frozenset(f"{t.interpreter}-{t.abi}" for t in found)


def best_wheel(files: Iterable[WheelFile], project: str, version: str, target: Target) -> WheelFile | None:
    """The wheel an installer would take for the target: tags match, OS floor met, highest build."""
    plat = target.platform
    want = Version(version)
    ranked: list[tuple[int, str, WheelFile]] = []
    # Live pages list thousands of files: a name prefix rules most out before any parsing.
    prefix = f"{project.replace('-', '_')}-{version}-".lower()  # wheel names spell - as _
    for f in files:
        if not f.filename.lower().startswith(prefix):
            continue
        w = parse_wheel(f.filename)
        if w.project != project or w.version != want:
            continue
        for tag in w.tags:
            on_platform = tag.platform == "any" or platform_key(tag.platform) == plat.key  # pure: everywhere
            if not on_platform or not python_accepts({python_tag(tag)}, target.python):
                continue
            floor = platform_floor(tag.platform)
            have = plat.glibc if plat.os == "linux" else plat.macos
            if floor and have and floor > have:
                continue
            ranked.append((w.build or 0, f.filename, f))
            break
    return max(ranked, key=lambda r: (r[0], r[1]))[2] if ranked else None
