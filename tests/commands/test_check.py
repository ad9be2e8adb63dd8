"""``torchpin lock --check`` against the fake index: a fresh lock passes; a newer build, a pinned build
gone, a file republished with other bytes, and a hand edit each fail with exit 7 and one line, in
every format torchpin writes. Three indexes stand for time passing: ``partial`` is the index before
torch 2.15.0 was published (a mirror without it, as the real pages list every release), ``full``
the index after, ``republished`` the index after the files were rebuilt under the same names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.support.cli import installer_env
from tests.support.cli import run as run_cli
from tests.support.fake_index import FakeIndexServer, FakePytorchIndex, Knobs
from tests.support.local_index import write_simple_index
from tests.support.static_server import StaticServer

UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
GPU = ["--driver", "580.65.06", "--gpu-cc", "8.6"]
TARGET = ["--no-detect", "--python-version", "3.11", "--python-platform", "linux", *GPU]
MULTI = ["--python-version", "3.11", "--target", "linux-x86_64:driver=580.65.06,gpu-cc=8.6", "--target", "macos-arm64"]


class Lab(NamedTuple):
    tmp: Path
    full: str
    partial: str
    republished: str
    env: dict[str, str]

    def torchpin(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=self.env, cwd=cwd or self.tmp, timeout=300)

    def lock(self, index: str, name: str, *args: str) -> Path:
        r = self.torchpin("lock", "--index-url", index, "--no-fallback", *args, "-o", name)
        assert r.returncode == 0, r.stderr
        return self.tmp / name

    def check(self, lock: Path, index: str | None = None, *args: str) -> subprocess.CompletedProcess[str]:
        return self.torchpin("lock", "--check", str(lock), *(["--index-url", index] if index else []), *args)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("check")
    write_simple_index(tmp / "pypi" / "simple", [])
    partial = FakePytorchIndex(knobs=Knobs(unlisted={"2.15.0"}))
    rebuilt = FakePytorchIndex(knobs=Knobs(torch_requires=("filelock",)))  # other bytes, same names
    with (
        FakeIndexServer() as full,
        FakeIndexServer(partial) as before,
        FakeIndexServer(rebuilt) as after,
        StaticServer(tmp / "pypi") as pypi,
    ):
        env = installer_env(
            TORCHPIN_CACHE_DIR=str(tmp / "cache"),
            UV_CACHE_DIR=str(tmp / "uv-cache"),
            TORCHPIN_PYPI_URL=f"{pypi.url}/simple",
        )
        yield Lab(tmp, full.base, before.base, after.base, env)


def findings(r: subprocess.CompletedProcess[str]) -> list[str]:
    return re.findall(r"(?m)^torchpin: \S+: (\w+): ", r.stderr)


# (format flags, lock file name, extra lock arguments): every format torchpin writes.
FORMATS = [
    pytest.param([], "requirements.txt", [*TARGET, "torch", "torchvision"], id="requirements"),
    pytest.param(["--format", "constraints"], "constraints.txt", [*TARGET, "torch"], id="constraints"),
    pytest.param(["--format", "json"], "lock.json", [*TARGET, "torch"], id="json"),
    pytest.param([], "multi.txt", [*MULTI, "torch"], id="multi-target"),
    pytest.param(["--format", "json"], "multi.json", [*MULTI, "torch"], id="multi-target-json"),
    pytest.param(
        ["--format", "pylock"],
        "pylock.toml",
        [*TARGET, "torch"],
        id="pylock",
        marks=pytest.mark.skipif(UV is None, reason="a pylock is resolved by uv, which is not installed"),
    ),
]


@pytest.mark.parametrize(("fmt", "name", "args"), FORMATS)
def test_a_fresh_lock_passes_and_a_newer_build_fails(lab: Lab, fmt: list[str], name: str, args: list[str]) -> None:
    lock = lab.lock(lab.partial, "newer-" + name, *fmt, *args)
    same = lab.check(lock)
    assert same.returncode == 0, same.stderr
    assert "is up to date" in same.stderr and same.stdout == ""
    later = lab.check(lock, lab.full)
    assert later.returncode == 7, later.stderr
    assert set(findings(later)) == {"newer"}, later.stderr
    assert "torch 2.15.0" in later.stderr and "(the lock: torch 2.14.1" in later.stderr
    assert f"-o {lock}" in later.stderr  # the command that updates it


@pytest.mark.parametrize(("fmt", "name", "args"), FORMATS)
def test_a_pinned_build_gone_fails(lab: Lab, fmt: list[str], name: str, args: list[str]) -> None:
    lock = lab.lock(lab.full, "gone-" + name, *fmt, *args)
    r = lab.check(lock, lab.partial)
    assert r.returncode == 7, r.stderr
    assert "gone" in findings(r), r.stderr
    assert "torch==2.15.0" in r.stderr


@pytest.mark.parametrize(("fmt", "name", "args"), FORMATS)
def test_a_republished_file_fails(lab: Lab, fmt: list[str], name: str, args: list[str]) -> None:
    lock = lab.lock(lab.full, "hash-" + name, *fmt, *args)
    r = lab.check(lock, lab.republished)
    assert r.returncode == 7, r.stderr
    assert set(findings(r)) == {"hash"}, r.stderr
    assert re.search(r"hash: (--target \S+: )?torch-2\.15\.0\+\w+-cp311-cp311-\S+\.whl: the index now serves", r.stderr)


@pytest.mark.parametrize(("fmt", "name", "args"), FORMATS)
def test_a_hand_edit_fails_and_a_comment_does_not(lab: Lab, fmt: list[str], name: str, args: list[str]) -> None:
    lock = lab.lock(lab.full, "edit-" + name, *fmt, *args)
    text = lock.read_text()
    # A reader's comment (or a reformat, for JSON) is not an edit of what pip or uv act on.
    lock.write_text(json.dumps(json.loads(text), indent=4) if name.endswith(".json") else "# reviewed by ops\n" + text)
    assert lab.check(lock).returncode == 0
    lock.write_text(re.sub(r"2\.15\.0", "2.14.1", text, count=0))
    r = lab.check(lock)
    assert r.returncode == 7, r.stderr
    assert findings(r)[0] == "edited", r.stderr


def test_pyproject_with_pins(lab: Lab) -> None:
    """--format pyproject --add: the pins in [project.dependencies] and the routed index are checked;
    the project's own edits elsewhere are not the lock's."""
    project = lab.tmp / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\nrequires-python = ">=3.11"\ndependencies = ["torch", "requests"]\n'
    )
    lab.torchpin("lock", "--index-url", lab.partial, "--format", "pyproject", "--add", *TARGET, cwd=project)
    assert lab.torchpin("lock", "--check", "pyproject.toml", cwd=project).returncode == 0
    text = (project / "pyproject.toml").read_text()
    assert "\n\n[[tool.uv.index]]" in text  # the record's tables end with a blank line, as the user's do
    (project / "pyproject.toml").write_text(text.replace('"requests"', '"requests", "rich"'))
    assert lab.torchpin("lock", "--check", "pyproject.toml", cwd=project).returncode == 0
    later = lab.torchpin("lock", "--check", "pyproject.toml", "--index-url", lab.full, cwd=project)
    assert later.returncode == 7 and findings(later) == ["newer"], later.stderr
    (project / "pyproject.toml").write_text(text.replace("torch==2.14.1", "torch==2.14.0"))
    edited = lab.torchpin("lock", "--check", "pyproject.toml", cwd=project)
    assert edited.returncode == 7 and findings(edited)[0] == "edited", edited.stderr


def test_json_output_for_bots(lab: Lab) -> None:
    lock = lab.lock(lab.partial, "bots.txt", *TARGET, "torch")
    r = lab.check(lock, lab.full, "--json")
    assert r.returncode == 7
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["lock"] == str(lock)
    assert [f["kind"] for f in doc["findings"]] == ["newer"]
    assert doc["relock"].startswith("torchpin lock --no-detect --python-version 3.11")


def test_offline_compares_with_the_snapshot(lab: Lab) -> None:
    lock = lab.lock(lab.full, "offline.txt", *TARGET, "torch")
    r = lab.check(lock, None, "--offline")
    assert r.returncode == 0, r.stderr
    assert "embedded snapshot" in r.stderr


def test_the_check_runs_anywhere_for_the_locks_own_machine(lab: Lab) -> None:
    """The lock's GPU machine is checked from a machine without a GPU (CI): nothing is detected."""
    lock = lab.lock(lab.full, "gpu.txt", *TARGET, "torch")
    made_with = re.search(r"(?m)^# made with: (.*)$", lock.read_text())
    assert made_with and "--driver 580.65.06 --gpu-cc 8.6" in made_with[1]
    assert lab.check(lock, None, "--no-detect").returncode == 2  # a target option would change the lock's
    assert lab.check(lock).returncode == 0


def test_a_lock_without_a_record_is_exit_2(lab: Lab) -> None:
    lock = lab.tmp / "by-hand.txt"
    lock.write_text("torch==2.15.0\n")
    r = lab.check(lock)
    assert r.returncode == 2
    assert "records no `torchpin lock` command" in r.stderr
    assert r.stderr.count("\n") == 1
