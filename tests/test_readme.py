"""Every shell recipe in README.md and docs/*.md runs as written (issues 26, 30): torchpin installed the way the
quick start installs it (`uv tool install .`), on a machine with no GPU, against the fake
PyTorch index through the documented variable (TORCHPIN_INDEX_URL) and an empty PyPI on
loopback. Each `torchpin` line must exit 0, and the builds its comment promises (`torch
2.11.0+cu128`, `: cu126`, `+cu126`) must be in what it printed. pip and uv lines run for real
where the lab serves what they need; the rest are listed below with the reason they can't run
here. A README command in neither list fails the test: a new recipe gets run or a reason.

The Dockerfile block is tests/test_docker_example.py's.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.support.fake_index import FakeIndexServer
from tests.support.local_index import write_simple_index
from tests.support.static_server import StaticServer
from tests.support.venvs import new_venv, newcomer_env

pytestmark = pytest.mark.slow  # a uv tool install, real pip and uv

ROOT = Path(__file__).resolve().parent.parent
PYTORCH = "https://download.pytorch.org/whl"

# Commands that can't run here, each with why; their torchpin lines (if any) still run.
NOT_HERE = {
    "scripts/test": "the test suite itself",
    "torchpin install": "installs the newest build for this machine and verifies it: here only torch 2.13.0+cpu is "
    "a real wheel (tests/envs/test_install.py and test_docker_example.py install and verify that one)",
    "torchpin verify": "needs an environment with a real torch (tests/envs/test_install.py verifies one)",
    'eval "$(torchpin completion bash)"': "changes the shell that runs it (tests/cli/test_completion.py sources it)",
    "pip install -c constraints.txt": "installs ultralytics and its CUDA torch from PyPI (gigabytes)",
    "PIP_CONSTRAINT=constraints.txt pip install": "installs the user's own requirements.txt from PyPI",
    ".venv/bin/python scripts/refresh_wheel_index.py": "rewrites the snapshot from PyPI's JSON API "
    "(tests/facts/test_refresh.py drills it)",
}


class Line(NamedTuple):
    block: int
    text: str  # the command, continuations joined, comment removed
    comment: str


DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def recipes() -> list[Line]:
    text = "\n".join(path.read_text() for path in DOCUMENTS)
    out = []
    for n, block in enumerate(re.findall(r"```sh\n(.*?)```", text, re.DOTALL)):
        for raw in block.replace("\\\n", " ").splitlines():
            command, _, comment = raw.partition("  #")
            if command.strip() and not command.lstrip().startswith("#"):
                out.append(Line(n, " ".join(command.split()), comment.strip()))
    return out


def promised(comment: str) -> list[str]:
    """The builds a recipe's comment promises, as they appear in a lock: `+cu128`, `torch==X+v`."""
    exact = [f"torch=={v}" for v in re.findall(r"torch (\d+\.\d+\.\d+\+\w+)", comment)]
    variants = re.findall(r"(?:^|[\s:])\+?(cu\d{3}|rocm\d+\.\d+)\b(?! ?/)", comment.split("(")[0])
    return exact + [f"+{v}" for v in variants if not any(e.endswith(f"+{v}") for e in exact)]


class Lab(NamedTuple):
    work: Path
    env: dict[str, str]
    torchpin: list[str]
    venv_python: Path
    uv: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("readme")
    (tmp / "work").mkdir()
    write_simple_index(tmp / "pypi" / "simple", [])
    uv = Path(sys.executable).with_name("uv")
    env = newcomer_env(tmp)
    # The quick start's own install: torchpin as a uv tool, from this checkout.
    done = subprocess.run(
        [str(uv), "tool", "install", str(ROOT)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"uv tool install needs PyPI for torchpin's dependencies: {done.stderr.strip()[-200:]}")
    (tmp / "work" / "requirements.in").write_text("torch\n")
    (tmp / "work" / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0"\ndependencies = []\n')
    venv_python = new_venv(tmp / "venv")
    with FakeIndexServer() as index, StaticServer(tmp / "pypi") as pypi:
        env.update(TORCHPIN_INDEX_URL=index.base, TORCHPIN_PYPI_URL=f"{pypi.url}/simple")
        yield Lab(tmp / "work", env, [str(tmp / "bin" / "torchpin")], venv_python, uv)


def run_line(lab: Lab, line: Line) -> subprocess.CompletedProcess[str]:
    """One README line as a shell would run it: VAR=value prefixes, `> FILE`, `| jq`."""
    command, _, piped = line.text.partition(" | ")
    command, _, redirect = command.partition(" > ")
    words = shlex.split(command)
    env = dict(lab.env)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if words[0] == "torchpin":
        argv = [*lab.torchpin, *words[1:]]
    elif words[:2] == ["pip", "install"]:  # into the lab's venv, from the lab's indexes
        argv = [str(lab.venv_python), "-m", "pip", "install", "--index-url", env["TORCHPIN_PYPI_URL"], *words[2:]]
    elif words[:3] == ["uv", "pip", "install"]:
        argv = [str(lab.uv), "pip", "install", "--python", str(lab.venv_python), *words[3:]]
    else:
        raise AssertionError(f"README block {line.block}: no way to run {line.text!r}; run it or list it in NOT_HERE")
    argv = [a.replace(PYTORCH, env["TORCHPIN_INDEX_URL"]) for a in argv]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=lab.work, timeout=600, check=False)
    if redirect and done.returncode == 0:
        (lab.work / redirect.strip()).write_text(done.stdout)
    if piped and done.returncode == 0 and shutil.which(piped.split()[0]):
        subprocess.run(shlex.split(piped), input=done.stdout, capture_output=True, text=True, check=True, timeout=60)
    return done


def test_every_recipe_is_run_or_says_why_not(lab: Lab) -> None:
    ran = 0
    unused = set(NOT_HERE)
    for line in recipes():
        if line.text.startswith("uv tool install"):
            continue  # the lab itself installs torchpin so
        if reason := [k for k in NOT_HERE if line.text.startswith(k)]:
            unused -= set(reason)
            continue
        done = run_line(lab, line)
        assert done.returncode == 0, f"README block {line.block}: {line.text}\n{done.stderr[-2000:]}"
        shown = done.stdout
        if " -o " in f" {line.text} ":
            shown += (lab.work / line.text.split(" -o ")[1].split()[0]).read_text()
        for build in promised(line.comment):
            assert build in shown, f"README block {line.block}: {line.text!r} promises {build}: {shown[-1500:]}"
        ran += 1
    assert ran > 0 and not unused, f"NOT_HERE names commands the README no longer has: {unused}"


def test_the_promises_are_read_from_the_comments() -> None:
    assert promised("an RTX 50xx on a 570 driver: torch 2.11.0+cu128") == ["torch==2.11.0+cu128"]
    assert promised("a Pascal GPU: cu126 (cu128/cu13x lack sm_6x)") == ["+cu126"]
    assert promised("a Windows +cu126 wheel") == ["+cu126"]
    assert promised("lock for this machine") == []
