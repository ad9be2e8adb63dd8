"""This interpreter and its OS (edge, cheap): what `--no-detect` still takes from the machine."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from pathlib import Path

from packaging.version import InvalidVersion, Version

from torchpin.decide.platforms import ARCHES
from torchpin.models import PlatformTarget, PythonTarget


def host_python() -> PythonTarget:
    freethreaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return PythonTarget(sys.version_info.major, sys.version_info.minor, freethreaded)


def host_platform(root: Path | None = None) -> PlatformTarget:
    arch = ARCHES.get(platform.machine().lower(), "x86_64")
    if sys.platform == "win32":
        return PlatformTarget("windows", arch)
    if sys.platform == "darwin":
        return PlatformTarget("macos", arch, macos=_version(platform.mac_ver()[0]))
    glibc = _glibc()
    root = root or Path("/")
    musl = glibc is None and (root / f"lib/ld-musl-{arch}.so.1").exists()
    return PlatformTarget("linux", arch, glibc=glibc, musl=musl)


def _glibc() -> Version | None:
    # confstr is instant; platform.libc_ver() scans the interpreter binary.
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        text = ""
    name, _, ver = text.partition(" ")
    return _version(ver) if name == "glibc" else None


def _version(text: str) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None
