"""torchpin: pick, pin, install and verify the right PyTorch build for a machine.

Each sub-package's ``__init__`` is a PEP 562 face built by ``face``: it names its members, and
each loads on first use. ``from torchpin import net`` costs nothing; ``net.client`` imports httpx
the first time it is read. Heavy modules stay off the paths that don't need them (an offline
lock never loads the HTTP stack) without imports hidden inside functions. A member, once read,
is a plain attribute of the face: a test patches it there (``monkeypatch.setattr(machine,
"detect_host", …)``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "face"]


def face(package: str, members: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: ``members`` maps each public name to its module."""

    def load(name: str) -> Any:
        module = members.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(f"{package}.{module}")
        # A member named like a module is that module: Python sets the same attribute whenever
        # the submodule is imported, so the two can never mean different things.
        value = loaded if name == module else getattr(loaded, name)
        setattr(sys.modules[package], name, value)  # the next read is a plain attribute
        return value

    load.members = dict(members)  # type: ignore[attr-defined]  # for tests/test_layout.py
    return load
