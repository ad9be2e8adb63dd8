"""``detect --json`` and ``lock --offline`` plan through one function, so under every TARGET and INDEX
variable they name the same build, index and index lines (or fail the same way)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run
from torchpin.decide.options import ENV_VARS

# One value per variable, each chosen to change the decision or the index lines if it is read.
TARGET_VALUES = {
    "TORCHPIN_BACKEND": "cu126",
    "TORCHPIN_PYTHON_VERSION": "3.10",
    "TORCHPIN_PYTHON_PLATFORM": "aarch64-apple-darwin",
    "TORCHPIN_GLIBC": "2.17",
    "TORCHPIN_MACOS_VERSION": "13.0",
    "TORCHPIN_DRIVER": "535.104.05",
    "TORCHPIN_GPU_CC": "6.1 8.9",  # click splits a multiple option's variable on white space
    "TORCHPIN_AMD_GFX": "gfx1100",
    "TORCHPIN_NO_DETECT": "1",
    "TORCHPIN_CUDA_COMPAT": "strict",
}
CASES: list[tuple[str, dict[str, str]]] = [
    *((name, {name: value}) for name, value in TARGET_VALUES.items()),
    ("driver+cc+strict", {"TORCHPIN_DRIVER": "525.60.13", "TORCHPIN_GPU_CC": "8.6", "TORCHPIN_CUDA_COMPAT": "strict"}),
    ("TORCHPIN_INDEX_URL", {"TORCHPIN_INDEX_URL": "https://mirror.example/whl"}),
    ("TORCHPIN_PYPI_URL", {"TORCHPIN_PYPI_URL": "https://pypi.mirror.example/simple"}),
    ("INDEX+PYPI", {"TORCHPIN_INDEX_URL": "https://mirror.example/whl", "TORCHPIN_PYPI_URL": "https://p.example/s"}),
    ("TORCHPIN_FIND_LINKS", {"TORCHPIN_FIND_LINKS": "https://mirror.example/flat"}),
    (
        "TORCHPIN_TRUSTED_HOST",
        {"TORCHPIN_INDEX_URL": "http://mirror.internal/whl", "TORCHPIN_TRUSTED_HOST": "mirror.internal"},
    ),
    ("plain http refused", {"TORCHPIN_INDEX_URL": "http://mirror.internal/whl"}),
    ("bad backend", {"TORCHPIN_BACKEND": "cu1"}),
    ("macOS GPU", {"TORCHPIN_PYTHON_PLATFORM": "macos", "TORCHPIN_GPU_CC": "8.6"}),
    ("macOS with the mirror", {"TORCHPIN_PYTHON_PLATFORM": "macos", "TORCHPIN_PYPI_URL": "https://p.example/s"}),
]


def test_the_table_names_every_target_variable() -> None:
    assert set(TARGET_VALUES) == set(ENV_VARS)


@pytest.mark.parametrize(("case", "env"), CASES, ids=[c for c, _ in CASES])
def test_detect_would_choose_what_lock_offline_locks(case: str, env: dict[str, str], tmp_path: Path) -> None:
    detect = run("detect", "--json", extra=env, home=tmp_path)
    locked = run("lock", "--offline", "--format", "json", extra=env, home=tmp_path)
    if detect.returncode == 2:  # input that doesn't parse: both refuse it, with the same line
        assert locked.returncode == 2 and locked.stdout == detect.stdout == "", (case, locked.stderr)
        assert detect.stderr.strip().splitlines()[-1] == locked.stderr.strip().splitlines()[-1]
        return
    assert detect.returncode == 0, detect.stderr
    chosen = json.loads(detect.stdout)["would_choose"]
    if "error" in chosen:
        assert locked.returncode == chosen["exit_code"] != 0, (case, locked.stderr, chosen)
        assert locked.stdout == ""
        return
    assert locked.returncode == 0, (case, locked.stderr)
    doc = json.loads(locked.stdout)
    assert chosen["backend"] == doc["backend"]
    assert chosen["index_url"] == doc["index_url"]
    assert chosen["index_options"] == doc["index_options"]
    assert chosen["packages"] == [f"{p['name']}=={p['version']}" for p in doc["packages"]]
