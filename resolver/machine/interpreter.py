"""This interpreter and its OS (edge, cheap): what `--no-detect` still takes from the machine; and
another interpreter, read once by running it, when an environment is what gets installed into."""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

from packaging.version import InvalidVersion, Version

from torchpin import proc
from torchpin.decide.platforms import ARCHES
from torchpin.errors import UsageError
from torchpin.models import PlatformTarget, PythonTarget

# Files a tool installer leaves in the environment it made for one tool (uv tool, pipx).
TOOL_MARKERS = ("uv-receipt.toml", "pipx_metadata.json")


def in_tool_environment() -> bool:
    """torchpin runs from an environment a tool installer made for it alone (uv tool, pipx)."""
    return any((Path(sys.prefix) / name).exists() for name in TOOL_MARKERS)


def in_project_environment(environ: Mapping[str, str]) -> bool:
    """torchpin runs from an environment of the project's (a venv, the active conda env), not from
    a tool's or a bare system Python: then that interpreter is the one to plan for."""
    if in_tool_environment():
        return False
    conda = environ.get("CONDA_PREFIX")
    return sys.prefix != sys.base_prefix or (
        conda is not None and os.path.realpath(conda) == os.path.realpath(sys.prefix)
    )


def python_version_file(start: Path) -> tuple[str | None, Path] | None:
    """The nearest ``.python-version`` at or above ``start`` (uv's and pyenv's pin): its CPython
    version as ``3.12`` / ``3.13t`` (None: a pin that names no CPython 3 version), and where it is."""
    for folder in (start, *start.parents):
        path = folder / ".python-version"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        line = next((x.strip() for x in text.splitlines() if x.strip() and not x.lstrip().startswith("#")), "")
        m = re.fullmatch(r"(?:cpython[-@]?)?(3\.\d{1,2})(?:\.\d+)*(?:[-+].*)?", line.lower().removesuffix("t"))
        freethreaded = line.lower().endswith("t") and not line.lower().startswith("pypy")
        return (m[1] + ("t" if freethreaded else "") if m else None), path
    return None


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


# What a target interpreter says of itself: its PEP 508 marker values, plus what picks a wheel
# beyond them (free-threaded ABI, glibc, macOS version, pointer size). As uv does, the
# interpreter that will run the wheels is asked, never the one torchpin runs in.
_PROBE = (
    "import json, os, platform, struct, sys, sysconfig;"
    "v = sys.version_info;"
    "libc = getattr(os, 'confstr', lambda n: '')('CS_GNU_LIBC_VERSION') if sys.platform == 'linux' else '';"
    "print(json.dumps({'python_version': f'{v[0]}.{v[1]}', 'python_full_version': platform.python_version(),"
    " 'implementation_name': sys.implementation.name, 'platform_python_implementation':"
    " platform.python_implementation(), 'os_name': os.name, 'sys_platform': sys.platform,"
    " 'platform_system': platform.system(), 'platform_machine': platform.machine(),"
    " 'platform_release': platform.release(), 'platform_version': platform.version(),"
    " 'implementation_version': platform.python_version(),"
    " 'freethreaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),"
    " 'libc': libc or '', 'mac_ver': platform.mac_ver()[0], 'bits': struct.calcsize('P') * 8}))"
)


def read_interpreter(python: str) -> dict[str, str]:
    """What ``python`` says of itself (marker values; ``freethreaded`` "True" / "False"; ``libc``,
    ``mac_ver``, ``bits``). A Python that can't run or answer is exit 2."""
    try:
        done = proc.run([python, "-c", _PROBE], timeout=60)
    except (proc.NotStarted, proc.TimedOut) as e:
        raise UsageError(f"cannot run {python}: {e}") from None
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
        if not isinstance(found, dict):
            raise ValueError
    except (ValueError, IndexError):
        raise UsageError(f"cannot read the platform of {python}: {done.stderr.strip()[-200:]}") from None
    return {k: str(v) for k, v in found.items()}


def interpreter_target(found: dict[str, str], root: Path | None = None) -> tuple[PythonTarget, PlatformTarget]:
    """The Python and platform a target interpreter's answer (``read_interpreter``) stands for."""
    major, _, minor = found.get("python_version", "").partition(".")
    if not (major.isdigit() and minor.isdigit()):
        raise UsageError(f"the target interpreter reported Python {found.get('python_version')!r}")
    python = PythonTarget(int(major), int(minor), found.get("freethreaded") == "True")
    arch = ARCHES.get(found.get("platform_machine", "").lower(), "x86_64")
    system = found.get("sys_platform", "")
    if system == "win32":
        return python, PlatformTarget("windows", arch)
    if system == "darwin":
        return python, PlatformTarget("macos", arch, macos=_version(found.get("mac_ver", "")))
    name, _, ver = found.get("libc", "").partition(" ")
    glibc = _version(ver) if name == "glibc" else None
    musl = glibc is None and ((root or Path("/")) / f"lib/ld-musl-{arch}.so.1").exists()
    return python, PlatformTarget("linux", arch, glibc=glibc, musl=musl)
