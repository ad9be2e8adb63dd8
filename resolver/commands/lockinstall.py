"""What ``install --lock`` checks before an installer reads a lock (rules over a ``LockView``):
every URL meets the URL policy, the lock was made for this interpreter's platform, and every
hash it states is checked, by the installer or by torchpin before the installer sees the file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from torchpin import machine
from torchpin.decide.platforms import uv_platform
from torchpin.errors import UsageError
from torchpin.locks.read import LockView
from torchpin.models import Pin
from torchpin.net.urls import check_all


def check_urls(lock_file: str, view: LockView, trusted_hosts: Sequence[str]) -> None:
    """The URL policy for every URL the lock would hand pip or uv: exit 2 naming the first it refuses."""
    check_all(view.urls, trusted_hosts, f"{lock_file} names", " to install")


def check_target(lock_file: str, view: LockView, here: Mapping[str, str]) -> None:
    """A single-target lock made for another OS, arch or Python is refused, naming both and the
    lock command for this interpreter (not for the Python torchpin happens to run in)."""
    target = view.target
    if target is None:
        return
    py, plat = machine.interpreter_target(dict(here))
    if (target.os, target.arch, target.python) != (plat.os, plat.arch, str(py)):
        flags = f"--python-version {py} --python-platform {uv_platform(plat)}"
        raise UsageError(
            f"{lock_file} was made for {target}, and this interpreter is CPython {py} on {plat.os} {plat.arch}",
            hint=f"lock for this interpreter (torchpin lock {flags}), or with --target for both",
        )


def verified_pins(view: LockView) -> list[Pin]:
    """The wheels the lock names by URL with a sha256: the installer checks each as it downloads
    it, or torchpin does first where the installer can't (``envs.install.self_checked``)."""
    pins = []
    for wheel in view.files:
        try:
            name, version, _, _ = parse_wheel_filename(wheel.filename)
        except InvalidWheelFilename:
            raise UsageError(f"the lock names {wheel.filename[:80]!r}, which is not a wheel") from None
        pins.append(Pin(str(canonicalize_name(name)), str(version), wheel))
    return pins
