"""Facts about the machine torchpin runs on (edge module).

Only the interpreter and OS are read so far; GPU probing arrives with
``torchpin detect``. Until then an unspecified accelerator means none.
"""

from __future__ import annotations

import platform
import sys
import sysconfig
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .models import Accelerator, PlatformTarget, PythonTarget, Target

_ARCH = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}


def host_python() -> PythonTarget:
    freethreaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return PythonTarget(sys.version_info.major, sys.version_info.minor, freethreaded)


def host_platform() -> PlatformTarget:
    arch = _ARCH.get(platform.machine().lower(), "x86_64")
    if sys.platform == "win32":
        return PlatformTarget("windows", arch)  # type: ignore[arg-type]
    if sys.platform == "darwin":
        return PlatformTarget("macos", arch, macos=_version(platform.mac_ver()[0]))  # type: ignore[arg-type]
    libc, ver = platform.libc_ver()
    glibc = _version(ver) if libc == "glibc" else None
    musl = libc != "glibc" and Path(f"/lib/ld-musl-{arch}.so.1").exists()
    return PlatformTarget("linux", arch, glibc=glibc, musl=musl)  # type: ignore[arg-type]


def host_target() -> Target:
    return Target(host_python(), host_platform(), Accelerator())


def _version(text: str) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None
