"""What ``install --lock`` checks before an installer reads a lock (pure rules over a ``LockView``):
every URL meets the URL policy, the lock was made for this interpreter's platform, and every
hash it states is checked, by the installer or by torchpin before the installer sees the file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from torchpin.decide.platforms import ARCHES
from torchpin.errors import UsageError
from torchpin.locks.read import LockView
from torchpin.models import Pin
from torchpin.net.urls import check_all

_OS_OF = {"linux": "linux", "win32": "windows", "darwin": "macos"}


def check_urls(lock_file: str, view: LockView, trusted_hosts: Sequence[str]) -> None:
    """The URL policy for every URL the lock would hand pip or uv: exit 2 naming the first it refuses."""
    check_all(view.urls, trusted_hosts, f"{lock_file} names", " to install")


def check_target(lock_file: str, view: LockView, here: Mapping[str, str]) -> None:
    """A single-target lock made for another OS, arch or Python is refused, naming both."""
    target = view.target
    if target is None:
        return
    os_name = _OS_OF.get(here.get("sys_platform", ""), here.get("sys_platform", ""))
    arch = ARCHES.get(here.get("platform_machine", "").lower(), here.get("platform_machine", ""))
    python = here.get("python_version", "") + ("t" if here.get("freethreaded") == "True" else "")
    if (target.os, target.arch, target.python) != (os_name, arch, python):
        raise UsageError(
            f"{lock_file} was made for {target}, and this interpreter is CPython {python} on {os_name} {arch}",
            hint="lock for this machine (torchpin lock), or with --target for both",
        )


def verified_pins(view: LockView) -> list[Pin]:
    """The wheels whose sha256 the lock states and no installer would check: torchpin downloads
    and checks them, then installs the checked files."""
    pins = []
    for wheel in view.files:
        try:
            name, version, _, _ = parse_wheel_filename(wheel.filename)
        except InvalidWheelFilename:
            raise UsageError(f"the lock names {wheel.filename[:80]!r}, which is not a wheel") from None
        pins.append(Pin(str(canonicalize_name(name)), str(version), wheel))
    return pins
