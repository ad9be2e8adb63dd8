"""The README's Dockerfile, run line by line as a build would: COPY, ENV and RUN, with no GPU.

The "image" is a fresh venv whose bin/ comes first on PATH; the index is the fake one
(TORCHPIN_INDEX_URL). torchpin's and torch's dependencies come from PyPI; the test skips,
saying so, when PyPI can't be reached or the real CPU torch wheel is not on this machine.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.envs.test_install import pypi_reachable

from .support.fake_index import REAL_TORCH, FakeIndexServer
from .support.venvs import new_venv

pytestmark = pytest.mark.slow  # a real torch install

ROOT = Path(__file__).resolve().parent.parent


def dockerfile() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- tested-dockerfile -->\s*```dockerfile\n(.*?)```", text, re.DOTALL)
    assert block, "README.md lost its tested Dockerfile block"
    return [line for line in block[1].splitlines() if line.strip() and not line.startswith("#")]


def test_readme_dockerfile_builds_without_a_gpu(tmp_path: Path) -> None:
    if not REAL_TORCH.exists():
        pytest.skip(f"the real CPU torch wheel is not on this machine ({REAL_TORCH})")
    if not pypi_reachable():
        pytest.skip("PyPI is unreachable: the image's pip install needs it")
    image = tmp_path / "image"
    new_venv(image)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "TORCHPIN_", "VIRTUAL_ENV"))}
    env.update(PATH=f"{image / 'bin'}:{env['PATH']}", PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env["TORCHPIN_CACHE_DIR"] = str(tmp_path / "cache")
    copies: dict[str, Path] = {}
    with FakeIndexServer() as index:
        env["TORCHPIN_INDEX_URL"] = index.base
        for line in dockerfile():
            op, _, rest = line.partition(" ")
            if op == "FROM":
                continue  # the venv is the image
            if op == "COPY":
                src, dst = rest.split()
                assert src == "."
                target = tmp_path / dst.lstrip("/")
                skip = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build")
                shutil.copytree(ROOT, target, symlinks=True, ignore=skip)
                copies[dst] = target
            elif op == "ENV":
                key, _, value = rest.partition("=")
                env[key] = value
            elif op == "RUN":
                for dst, target in copies.items():
                    rest = rest.replace(dst, str(target))
                done = subprocess.run(
                    shlex.split(rest), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False
                )
                assert done.returncode == 0, f"RUN {rest}\n{done.stderr[-3000:]}"
                last = done
            else:
                raise AssertionError(f"unexpected Dockerfile line: {line}")
    # the last RUN installed and verified: CPU checks ran, GPU checks skipped with the reason
    assert "sha256 ok" in last.stderr  # pip installs the file torchpin read and checked
    assert "gpu-compute" in last.stderr and "no GPU visible" in last.stderr
    python = image / "bin" / "python"
    version = subprocess.run(
        [str(python), "-c", "import torch; print(torch.__version__)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert version.stdout.strip() == "2.13.0+cpu"
