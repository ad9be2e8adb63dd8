"""The README's CI recipes, run as written: the GitHub Actions workflow's `run:` steps (torchpin
installed with `uv tool install`, from this checkout instead of PyPI) and the pre-commit hook this
repository publishes (`.pre-commit-hooks.yaml`, with the README's `args`), each against a lock made
from the fake index: a fresh lock passes the job, a stale or edited one fails it with exit 7.

`uses:` steps are GitHub's (checkout: the lab's folder is the checkout; setup-uv: uv is on PATH)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.support.fake_index import FakeIndexServer, FakePytorchIndex, Knobs
from tests.support.venvs import newcomer_env

pytestmark = pytest.mark.slow  # a uv tool install

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def block(marker: str) -> str:
    found = re.search(rf"<!-- {marker} -->\s*```yaml\n(.*?)```", README, re.DOTALL)
    assert found, f"README.md lost its {marker} block"
    return found[1]


def workflow_steps() -> list[str]:
    """The `- run:` steps of the README's workflow, in order."""
    return [m.strip() for m in re.findall(r"(?m)^\s*- run: (.+)$", block("tested-workflow"))]


def hook() -> dict[str, str]:
    """The hook's keys from .pre-commit-hooks.yaml (one hook; plain `key: value` lines)."""
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    return dict(re.findall(r"(?m)^\s*-?\s*(id|entry|language|pass_filenames|files): (.+)$", text))


class Lab(NamedTuple):
    repo: Path
    env: dict[str, str]
    partial: str  # the index before torch 2.15.0
    full: str

    def sh(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.repo,
            timeout=600,
            check=False,
        )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("ci")
    env = newcomer_env(tmp)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # setup-uv: uv on PATH
    (tmp / "repo").mkdir()
    partial = FakePytorchIndex(knobs=Knobs(unlisted={"2.15.0"}))
    with FakeIndexServer(partial) as before, FakeIndexServer() as after:
        yield Lab(tmp / "repo", env, before.base, after.base)


def test_the_workflow_installs_torchpin_and_gates_on_the_lock(lab: Lab) -> None:
    steps = workflow_steps()
    assert steps == ["uv tool install torchpin", "torchpin lock --check requirements.txt"]
    install = lab.sh(steps[0].replace("uv tool install torchpin", f"uv tool install {shlex.quote(str(ROOT))}"))
    if install.returncode != 0:
        pytest.skip(f"uv tool install needs PyPI for torchpin's dependencies: {install.stderr.strip()[-200:]}")
    made = lab.sh(f"torchpin lock --index-url {lab.partial} --backend cpu --no-detect torch -o requirements.txt")
    assert made.returncode == 0, made.stderr
    passed = lab.sh(steps[1])
    assert passed.returncode == 0, passed.stderr
    # A week later the index has torch 2.15.0: the scheduled run fails, naming the update.
    later = lab.sh(steps[1].replace("--check requirements.txt", f"--check requirements.txt --index-url {lab.full}"))
    assert later.returncode == 7, later.stderr
    assert "newer: a newer build fits: torch 2.15.0+cpu" in later.stderr
    # and the command it prints makes the lock that passes
    relock = re.search(r"update it: (torchpin lock .*)\)$", later.stderr.strip())
    assert relock
    refreshed = lab.sh(relock[1].replace(lab.partial, lab.full))
    assert refreshed.returncode == 0, refreshed.stderr
    assert lab.sh(steps[1]).returncode == 0


def test_the_pre_commit_hook_runs_as_pre_commit_runs_it(lab: Lab) -> None:
    """pre-commit runs `entry` + the config's `args` (no file names: pass_filenames is false) when a
    changed file matches `files`."""
    spec = hook()
    assert spec["id"] == "torchpin-lock-check" and spec["language"] == "python"
    assert spec["pass_filenames"] == "false"
    files = re.compile(spec["files"])
    for name in ("requirements.txt", "requirements-gpu.txt", "pylock.toml", "app/pyproject.toml", "torch.lock.json"):
        assert files.search(name), name
    assert not files.search("src/model.py")
    config = block("tested-pre-commit")
    assert "id: torchpin-lock-check" in config
    args = re.search(r"args: \[(.*)\]", config)
    assert args
    command = f"{spec['entry']} {' '.join(a.strip() for a in args[1].split(','))}"
    torchpin = [sys.executable, "-m", "torchpin"]
    env = {**lab.env, "TORCHPIN_INDEX_URL": lab.full}
    lock = subprocess.run(
        [*torchpin, "lock", "--backend", "cpu", "--no-detect", "torch", "-o", "requirements.txt"],
        capture_output=True,
        text=True,
        env=env,
        cwd=lab.repo,
        timeout=300,
        check=False,
    )
    assert lock.returncode == 0, lock.stderr

    def run_hook() -> subprocess.CompletedProcess[str]:
        argv = [*torchpin, *shlex.split(command)[1:]]
        return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=lab.repo, timeout=300, check=False)

    assert run_hook().returncode == 0
    text = (lab.repo / "requirements.txt").read_text()
    (lab.repo / "requirements.txt").write_text(text.replace("torch==2.15.0+cpu", "torch==2.14.1+cpu"))
    edited = run_hook()
    assert edited.returncode == 7 and "edited:" in edited.stderr, edited.stderr
