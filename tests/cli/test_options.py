"""The TARGET options have one definition; the CLI, `detect` and the reference (docs/reference.md) follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from torchpin.cli.app import cli
from torchpin.decide.options import TARGET, Option
from torchpin.decide.targets import TargetFlags

README = (Path(__file__).resolve().parents[2] / "docs" / "reference.md").read_text(encoding="utf-8")


def _table(heading: str) -> str:
    start = README.index(heading)
    end = README.index("\n#", start + len(heading))
    return README[start:end]


def test_every_option_fills_a_target_field() -> None:
    fields = set(TargetFlags.__dataclass_fields__)
    assert {o.field for o in TARGET} == fields  # none missing, none extra


@pytest.mark.parametrize("opt", TARGET, ids=lambda o: o.flag)
def test_the_readme_lock_table_documents_each_option(opt: Option) -> None:
    rows = [line for line in _table("### TARGET options").splitlines() if line.startswith("| `--")]
    row = next((r for r in rows if r.startswith(f"| `{opt.flag}")), None)
    assert row is not None, f"{opt.flag} is missing from the README's TARGET table"
    assert f"`{opt.envvar}`" in row


def test_the_readme_lists_no_option_that_does_not_exist() -> None:
    rows = [line for line in _table("### TARGET options").splitlines() if line.startswith("| `--")]
    documented = {m[1] for r in rows if (m := re.match(r"\| `(--[a-z-]+)", r))}
    assert documented == {o.flag for o in TARGET}


def test_the_readme_override_table_names_every_variable() -> None:
    overrides = _table("### Overrides")
    assert all(o.envvar in overrides for o in TARGET)


@pytest.mark.parametrize("command", ["lock", "install", "detect"])
def test_every_target_command_takes_every_option(command: str) -> None:
    help_text = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
    for opt in TARGET:
        assert opt.flag in help_text, f"{command} lacks {opt.flag}"
