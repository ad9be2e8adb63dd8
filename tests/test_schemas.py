"""The published JSON Schemas (docs/schemas/) hold for what torchpin really prints: `detect --json` on
this machine (tests/machine/test_detect.py checks every recorded machine too), `lock --format json`
for one target and several (offline and live, with sha256), `verify --json` / `doctor --json`, and
`lock --check --json`, fresh and stale."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.support.cli import run
from tests.support.fake_index import FakeIndexServer
from tests.support.schemas import SCHEMAS, valid


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_each_schema_is_a_schema(path: Path) -> None:
    Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_detect_here_with_settings_from_each_source() -> None:
    r = run("detect", "--json", "--python-version", "3.12", extra={"TORCHPIN_BACKEND": "cu128"})
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc["settings"]) == {"python_version", "backend"}
    valid("detect", doc)
    failing = json.loads(run("detect", "--json", "--driver", "390.48", "--gpu-cc", "6.1").stdout)
    assert "error" in failing["would_choose"]  # the other shape: nothing would lock
    valid("detect", failing)


@pytest.mark.parametrize(
    "args",
    [
        ["--backend", "cpu", "--python-platform", "linux"],
        ["--driver", "570.86.15", "--gpu-cc", "12.0", "--python-platform", "linux"],
        ["--amd-gfx", "gfx1100", "--python-platform", "linux"],
        ["--python-platform", "aarch64-apple-darwin", "--macos-version", "14.0"],
        ["--target", "linux-x86_64:driver=550.54.15,gpu-cc=8.6", "--target", "macos-arm64"],
    ],
    ids=["cpu", "cuda", "rocm", "mac", "multi"],
)
def test_lock_json_offline(args: list[str]) -> None:
    r = run("lock", "--offline", "--no-detect", "--python-version", "3.12", "--format", "json", *args)
    assert r.returncode == 0, r.stderr
    valid("lock", json.loads(r.stdout))


def test_lock_json_live_and_check(tmp_path: Path) -> None:
    with FakeIndexServer() as index:
        lock = tmp_path / "lock.json"
        base = ["--index-url", index.base, "--no-fallback", "--backend", "cpu", "--no-detect"]
        r = run("lock", *base, "--format", "json", "-o", str(lock), home=tmp_path)
        assert r.returncode == 0, r.stderr
        doc = json.loads(lock.read_text())
        assert all(p["sha256"] for p in doc["packages"]) and doc["files"]
        valid("lock", doc)
        fresh = run("lock", "--check", str(lock), "--json", home=tmp_path)
        assert fresh.returncode == 0
        valid("check", json.loads(fresh.stdout))
        lock.write_text(lock.read_text().replace('"2.15.0+cpu"', '"2.14.1+cpu"'))
        stale = run("lock", "--check", str(lock), "--json", home=tmp_path)
        assert stale.returncode == 7
        doc = json.loads(stale.stdout)
        assert doc["findings"] and doc["relock"]
        valid("check", doc)


@pytest.mark.parametrize("command", ["verify", "doctor"])
def test_verify_and_doctor_json(command: str) -> None:
    """This interpreter has no torch: a failed report is the one most scripts read."""
    r = run(command, "--python", sys.executable, "--json")
    assert r.returncode == 6
    valid("verify", json.loads(r.stdout))
