"""Command bodies in-process: the machine is probed once per command, processes go through proc."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from torchpin import detect, envcommands, proc
from torchpin.cli import _snapshot_bytes
from torchpin.commands import IndexOptions
from torchpin.models import Requirement
from torchpin.targets import TargetFlags


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = detect.detect_host

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(detect, "detect_host", counting)
    return calls


def test_doctor_probes_the_machine_once(probes: list[int]) -> None:
    envcommands.run_doctor(sys.executable, snapshot=_snapshot_bytes)  # verify, then the fix's plan
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
    opts = envcommands.InstallOptions(installer="pip", python=sys.executable, dry_run=True)
    envcommands.run_install([Requirement("torch")], TargetFlags(backend="cpu"), IndexOptions(offline=True), opts,
                            snapshot=_snapshot_bytes)  # fmt: skip
    assert len(probes) == 1
    assert [a[:2] for a in seen] == [(sys.executable, "-c")] * 2  # the installed-set query, then "is pip there"
