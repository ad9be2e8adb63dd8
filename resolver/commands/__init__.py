"""commands (wiring): one ``Context`` per command, one path to a plan (``plan.make_plan``), and a
module per command that the CLI calls: ``lock``, ``install``, ``verify`` (and doctor), ``detect``."""

from typing import TYPE_CHECKING

from torchpin import face

if TYPE_CHECKING:
    from .check import run_check
    from .context import Context, IndexOptions, variant_root
    from .detect import run_detect
    from .install import InstallOptions, run_install, run_install_lock
    from .lock import run_lock
    from .plan import make_plan
    from .split import run_split
    from .verify import run_doctor, run_verify

__getattr__ = face(
    __name__,
    {
        "Context": "context",
        "IndexOptions": "context",
        "variant_root": "context",
        "run_check": "check",
        "run_detect": "detect",
        "InstallOptions": "install",
        "run_install": "install",
        "run_install_lock": "install",
        "run_lock": "lock",
        "run_split": "split",
        "make_plan": "plan",
        "run_doctor": "verify",
        "run_verify": "verify",
    },
)
__all__ = [
    "Context",
    "IndexOptions",
    "InstallOptions",
    "make_plan",
    "run_check",
    "run_detect",
    "run_doctor",
    "run_install",
    "run_install_lock",
    "run_lock",
    "run_split",
    "run_verify",
    "variant_root",
]
