"""`torchpin verify --summary FILES`: a mixed fleet's verify reports, grouped by outcome."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run
from tests.support.schemas import valid


def report(ok: bool, *failed: tuple[str, str, str]) -> dict[str, object]:
    checks = [{"id": "import", "status": "pass", "detail": "torch 2.14.1+cu126", "cause": None, "fix": None}]
    checks += [{"id": i, "status": s, "detail": d, "cause": d, "fix": None} for i, s, d in failed]
    return {"schema": 1, "ok": ok, "python": "/opt/venv/bin/python", "checks": checks}


CUDNN = ("cudnn-rnn", "fail", "cuDNN refused a non-contiguous GRU input")
NO_GPU = ("gpu-compute", "warn", "no GPU visible: CUDA checks skipped")


def fleet(folder: Path) -> Path:
    folder.mkdir()
    reports = {"a100-1": report(True), "a100-2": report(True), "v100-1": report(False, CUDNN)}
    reports |= {"v100-2": report(False, CUDNN), "login-1": report(True, NO_GPU)}
    for name, doc in reports.items():
        (folder / f"{name}.json").write_text(json.dumps(doc, indent=2))
    return folder


def test_a_mixed_fleet_is_grouped_and_fails(tmp_path: Path) -> None:
    r = run("verify", "--summary", str(fleet(tmp_path / "verify")))
    assert r.returncode == 6, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == "5 node(s): 2 passed, 1 with warnings, 2 failed"
    assert lines[1].split() == ["fail", "2", "v100-1,", "v100-2"]
    assert lines[2].strip() == "cudnn-rnn: cuDNN refused a non-contiguous GRU input"
    assert lines[3].split() == ["warn", "1", "login-1"] and lines[5].split() == ["pass", "2", "a100-1,", "a100-2"]
    assert r.stdout == ""


def test_json_and_a_passing_fleet(tmp_path: Path) -> None:
    folder = fleet(tmp_path / "verify")
    for bad in ("v100-1", "v100-2"):
        (folder / f"{bad}.json").unlink()
    r = run("verify", "--summary", "--json", str(folder))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    valid("verify-summary", doc)
    assert doc["ok"] and doc["nodes"] == {"pass": 2, "warn": 1, "fail": 0}


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"schema": 1}')
    r = run("verify", "--summary", str(tmp_path / "x.json"))
    assert r.returncode == 2 and "x.json: not a `torchpin verify --json` report" in r.stderr
    r = run("verify", "--summary")
    assert r.returncode == 2 and "verify --summary reads FILES" in r.stderr
    r = run("verify", "--summary", "--python", "/usr/bin/python3", str(tmp_path / "x.json"))
    assert r.returncode == 2
