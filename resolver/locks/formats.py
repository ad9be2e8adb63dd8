"""The one lock-format registry (pure): click's choices, each format's writer and reader.

A new format is one module and one member here; ``write`` and ``locks.read`` dispatch on the
member exhaustively (``assert_never``), so mypy names every place a new member must reach.
Writers are pure: the lock command runs uv and HEAD first and hands their results in. The
formats load through the ``locks`` face when their member is written (pyproject and pylock
import tomlkit).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, NamedTuple, NoReturn, TypeAlias

from torchpin import locks
from torchpin.errors import UsageError

if TYPE_CHECKING:  # the CLI builds --format's choices from this module: it loads no plan or writer
    from torchpin.models import Plan

    from .pylock import Merged

Labeled: TypeAlias = "tuple[str | None, Plan]"


class LockFormat(str, Enum):
    """Same order as `torchpin lock --help`; json is the machine format."""

    REQUIREMENTS = "requirements"
    CONSTRAINTS = "constraints"
    JSON = "json"
    PYPROJECT = "pyproject"
    PYLOCK = "pylock"

    def __str__(self) -> str:
        return self.value

    @property
    def edits_file(self) -> bool:
        """Written into the user's own file (pyproject), not a new one."""
        return self is LockFormat.PYPROJECT

    @property
    def complete(self) -> bool:
        """Locks every requirement, not only the torch family (so it always needs uv)."""
        return self is LockFormat.PYLOCK

    @property
    def installs_with_uv_only(self) -> bool:
        """pip 23-25 reads neither [tool.uv.sources] nor pylock.toml."""
        return self in (LockFormat.PYPROJECT, LockFormat.PYLOCK)


def assert_never(value: NoReturn) -> NoReturn:
    """mypy proves this unreachable for an exhaustive ``match``; at run time it names the stray value."""
    raise AssertionError(f"unhandled lock format {value!r}")


CHOICES: tuple[str, ...] = tuple(f.value for f in LockFormat)


class LockInput(NamedTuple):
    """Everything a writer needs besides the plans: what the command read or ran for it."""

    plans: Sequence[Labeled]
    multi: bool = False  # --target was given: markers even for one target
    existing: str = ""  # pyproject: the user's file
    add: bool = False  # pyproject: also pin the builds in [project.dependencies]
    resolved: str | None = None  # --full: uv's hash-pinned requirements for the one target
    merged: Merged | None = None  # pylock: every target's uv lock, merged


def write(fmt: LockFormat, given: LockInput) -> tuple[str, list[str]]:
    """The lock text (for pyproject: the user's file edited) and stderr notes."""
    labeled = [(label or "", plan) for label, plan in given.plans]
    single = given.plans[0][1]
    match fmt:
        case LockFormat.REQUIREMENTS:
            if given.resolved is not None:
                return locks.full_lock(single, given.resolved), []
            return (
                locks.multi.requirements(labeled) if given.multi else locks.requirements.requirements_lock(single)
            ), []
        case LockFormat.CONSTRAINTS:
            return (locks.multi.constraints(labeled) if given.multi else locks.requirements.constraints(single)), []
        case LockFormat.JSON:
            text = (
                locks.multi.json_lock(labeled)
                if given.multi
                else json.dumps(locks.requirements.as_json(single), indent=2)
            )
            return text.rstrip("\n") + "\n", []
        case LockFormat.PYPROJECT:
            return locks.pyproject.edit(given.existing, given.plans, add=given.add), []
        case LockFormat.PYLOCK:
            if given.merged is None:
                raise UsageError("a pylock needs uv's resolution of every target")
            return locks.pylock.write(given.merged)
        case _:
            assert_never(fmt)
