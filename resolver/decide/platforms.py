"""The platform vocabulary, written once (pure): uv's ``--python-platform`` names, the
``--target`` OS and arch words, the names interpreters report, and back to uv's names."""

from __future__ import annotations

import re

from packaging.version import Version

from torchpin.errors import UsageError
from torchpin.facts.wheels import nearest_names
from torchpin.models import Arch, PlatformTarget

# Every spelling of a CPU architecture torchpin reads: uv, --target, platform.machine().
ARCHES: dict[str, Arch] = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
# --target OS word -> uv's triple (with the arch filled in).
OS_TRIPLES = {"linux": "{arch}-unknown-linux-gnu", "macos": "{arch}-apple-darwin", "windows": "{arch}-pc-windows-msvc"}
# The snapshot's platform keys (``PlatformTarget.key``) back to (OS, arch): derived, not restated.
KEYS: dict[str, tuple[str, str]] = {
    PlatformTarget(os, arch).key: (os, arch) for os in ("linux", "windows", "macos") for arch in ("x86_64", "aarch64")
}
# uv's bare OS names mean what uv means by them.
_ALIASES = {
    "linux": "x86_64-unknown-linux-gnu",
    "windows": "x86_64-pc-windows-msvc",
    "macos": "aarch64-apple-darwin",
}
_TRIPLE = re.compile(
    r"^(?P<arch>x86_64|aarch64|arm64|amd64)-(?:"
    r"manylinux_2_(?P<glibc>\d+)|(?P<gnu>unknown-linux-gnu)|(?P<musl>unknown-linux-musl)"
    r"|(?P<win>pc-windows-msvc)|(?P<mac>apple-darwin))$",
    re.ASCII,
)
PLATFORM_CHOICES = (
    "linux",
    "windows",
    "macos",
    "x86_64-manylinux_2_28",
    "aarch64-manylinux_2_28",
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-pc-windows-msvc",
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
)


_OS_WORDS = {
    "linux": "linux",
    "manylinux": "linux",
    "gnu": "linux",
    "macos": "macos",
    "mac": "macos",
    "darwin": "macos",
    "apple": "macos",
    "osx": "macos",
    "windows": "windows",
    "win": "windows",
    "win32": "windows",
    "msvc": "windows",
}


def _same_os_and_arch(text: str) -> list[str]:
    """For a misspelt platform that names an OS and an arch (``linux-arm64``): the choices that
    are that OS on that arch, not the closest string (which would be plain ``linux``, x86_64)."""
    words = set(re.split(r"[- ./]+", text.strip().lower()))
    arch = next((ARCHES[w] for w in words if w in ARCHES), None)
    os_name = next((_OS_WORDS[w.split("_")[0]] for w in words if w.split("_")[0] in _OS_WORDS), None)
    if arch is None or os_name is None:
        return []
    return [c for c in PLATFORM_CHOICES[3:] if (p := parse_python_platform(c)).os == os_name and p.arch == arch]


def parse_python_platform(text: str) -> PlatformTarget:
    """uv's platform names to OS, arch and (for ``manylinux_2_N``) the glibc floor."""
    m = _TRIPLE.match(_ALIASES.get(text.strip().lower(), text.strip().lower()))
    if not m:
        near = _same_os_and_arch(text) or nearest_names(text, list(PLATFORM_CHOICES))
        raise UsageError(
            f"unknown --python-platform {text[:80]!r}",
            hint="did you mean " + " or ".join(near) if near else "one of: " + ", ".join(PLATFORM_CHOICES),
        )
    arch = ARCHES[m["arch"]]
    if m["win"]:
        return PlatformTarget("windows", arch)
    if m["mac"]:
        return PlatformTarget("macos", arch)
    glibc = Version(f"2.{m['glibc']}") if m["glibc"] else None
    return PlatformTarget("linux", arch, glibc=glibc, musl=bool(m["musl"]))


def uv_platform(platform: PlatformTarget) -> str:
    """uv's ``--python-platform`` name for a target (the inverse of ``parse_python_platform``)."""
    if platform.os == "linux" and platform.glibc is not None:
        return f"{platform.arch}-manylinux_{str(platform.glibc).replace('.', '_')}"
    if platform.os == "linux" and platform.musl:
        return f"{platform.arch}-unknown-linux-musl"
    if platform.os == "windows":
        return "x86_64-pc-windows-msvc"
    return OS_TRIPLES[platform.os].format(arch=platform.arch)
