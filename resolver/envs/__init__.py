"""envs (edge): target interpreters. ``install`` (pip / uv command lines, the checked downloads),
``uv`` (the one uv driver), ``verify`` (the smoke test in a subprocess, judged by ``diagnose``
against the ``failures`` table). Every member loads on first use."""

from typing import TYPE_CHECKING

from torchpin import face

if TYPE_CHECKING:
    from . import install
    from .uv import Compiling, compile_key, compile_lock
    from .verify import Report, target_python, verify_python

__getattr__ = face(
    __name__,
    {
        "install": "install",
        "compile_lock": "uv",
        "compile_key": "uv",
        "Compiling": "uv",
        "Report": "verify",
        "target_python": "verify",
        "verify_python": "verify",
    },
)
__all__ = ["Compiling", "Report", "compile_key", "compile_lock", "install", "target_python", "verify_python"]
