"""The lock-format registry: one member per format reaches click, a writer and the reader."""

from __future__ import annotations

import pytest

from tests.conftest import target
from tests.support.cli import run
from torchpin.decide.select import select
from torchpin.facts.catalog import Catalog
from torchpin.locks.formats import CHOICES, LockFormat, LockInput, write
from torchpin.locks.read import kind_of, read_lock

PROJECT = '[project]\nname = "demo"\nversion = "0"\ndependencies = []\n'
LINUX = {"sys_platform": "linux", "platform_machine": "x86_64", "python_version": "3.12"}


def test_clicks_choices_are_the_members() -> None:
    assert tuple(f.value for f in LockFormat) == CHOICES
    shown = run("lock", "--help").stdout
    assert "[requirements|constraints|json|pyproject|pylock]" in shown


# pylock needs uv's resolution: its writer is checked with uv in tests/locks/test_multi_clients.py.
@pytest.mark.parametrize("fmt", [f for f in LockFormat if not f.complete], ids=str)
def test_every_writer_is_read_back_as_its_own_format(fmt: LockFormat, catalog: Catalog) -> None:
    plan = select(target("3.12"), catalog)
    text, notes = write(fmt, LockInput([(None, plan)], existing=PROJECT if fmt.edits_file else "", add=True))
    assert notes == []
    assert kind_of(text) is fmt
    view = read_lock(text, LINUX)
    assert view.kind is fmt and view.pins == {p.project: p.version for p in plan.pins}


def test_a_pylock_without_uvs_resolution_is_refused(catalog: Catalog) -> None:
    from torchpin.errors import UsageError

    with pytest.raises(UsageError, match="uv's resolution"):
        write(LockFormat.PYLOCK, LockInput([(None, select(target("3.12"), catalog))]))


def test_the_members_say_what_they_need() -> None:
    assert [f for f in LockFormat if f.edits_file] == [LockFormat.PYPROJECT]
    assert [f for f in LockFormat if f.complete] == [LockFormat.PYLOCK]
    assert {f for f in LockFormat if f.installs_with_uv_only} == {LockFormat.PYPROJECT, LockFormat.PYLOCK}
