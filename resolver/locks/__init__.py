"""locks (pure): plans ↔ lock text. ``formats`` is the registry (one ``LockFormat`` member per format,
its writer and reader); each format's module loads when its member is used."""

from typing import TYPE_CHECKING

from torchpin import face

if TYPE_CHECKING:
    from . import multi, pylock, pyproject, requirements
    from .explain import explain_failure, explain_plan
    from .formats import CHOICES, Labeled, LockFormat, LockInput, write
    from .full import bind_hashes, full_lock
    from .read import LockView, kind_of, pylock_urls, read_lock, toml_values
    from .record import Recipe, Record, digest, recorded, stamp
    from .reqfile import read_requirement_files, read_text, user_hashes
    from .requirements import index_lines

__getattr__ = face(
    __name__,
    {
        "CHOICES": "formats",
        "Labeled": "formats",
        "LockFormat": "formats",
        "LockInput": "formats",
        "write": "formats",
        "multi": "multi",
        "pylock": "pylock",
        "pyproject": "pyproject",
        "requirements": "requirements",
        "explain_failure": "explain",
        "explain_plan": "explain",
        "bind_hashes": "full",
        "full_lock": "full",
        "LockView": "read",
        "read_lock": "read",
        "kind_of": "read",
        "Recipe": "record",
        "Record": "record",
        "digest": "record",
        "recorded": "record",
        "stamp": "record",
        "pylock_urls": "read",
        "toml_values": "read",
        "read_requirement_files": "reqfile",
        "read_text": "reqfile",
        "user_hashes": "reqfile",
        "index_lines": "requirements",
    },
)
__all__ = [
    "CHOICES",
    "Labeled",
    "LockFormat",
    "LockInput",
    "LockView",
    "Recipe",
    "Record",
    "bind_hashes",
    "digest",
    "explain_failure",
    "explain_plan",
    "full_lock",
    "index_lines",
    "kind_of",
    "multi",
    "pylock",
    "pylock_urls",
    "pyproject",
    "read_lock",
    "read_requirement_files",
    "read_text",
    "recorded",
    "requirements",
    "stamp",
    "toml_values",
    "user_hashes",
    "write",
]
