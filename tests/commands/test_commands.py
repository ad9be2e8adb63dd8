"""Command bodies in-process: the machine is probed once per command, processes go through proc."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.support.cli import context
from torchpin import machine, proc
from torchpin.commands import IndexOptions, InstallOptions, run_doctor, run_install
from torchpin.decide.targets import TargetFlags
from torchpin.models import Requirement


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = machine.detect_host  # a face member: patched where the commands read it

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(machine, "detect_host", counting)
    return calls


def test_doctor_probes_the_machine_once(probes: list[int]) -> None:
    run_doctor(context()[0], sys.executable)  # verify, then the fix's plan
    assert len(probes) == 1


def test_install_dry_run_probes_once_and_runs_every_process_through_proc(
    probes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, ...]] = []
    real = proc.run

    def recording(argv: Any, **kwargs: Any) -> proc.Done:
        seen.append(tuple(argv))
        return real(argv, **kwargs)

    monkeypatch.setattr(proc, "run", recording)
    opts = InstallOptions(installer="pip", python=sys.executable, dry_run=True)
    ctx, said = context()
    run_install(ctx, [Requirement("torch")], TargetFlags(backend="cpu"), IndexOptions(offline=True), opts)
    assert len(probes) == 1
    # what the target interpreter is (it decides the wheels), the installed-set query, "is pip there"
    assert [a[:2] for a in seen] == [(sys.executable, "-c")] * 3
    assert any(line.startswith("would run: ") for line in said)  # what it would do, to the Context's sink
