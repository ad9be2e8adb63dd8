"""Checks that need a real NVIDIA GPU: run where one is visible, skipped (saying why) elsewhere."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.support.cli import run as run_cli

pytestmark = pytest.mark.gpu


def _cuda_torch() -> bool:
    code = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    try:
        return (
            subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=False).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


requires_gpu = pytest.mark.skipif(shutil.which("nvidia-smi") is None, reason="no NVIDIA GPU visible (no nvidia-smi)")


@requires_gpu
def test_detect_finds_the_gpus() -> None:
    r = run_cli("detect", "--json", timeout=60, check=True)
    doc = json.loads(r.stdout)
    assert doc["nvidia"] and doc["nvidia"]["driver"] and doc["nvidia"]["gpus"]
    assert all(g["cc"] for g in doc["nvidia"]["gpus"])
    assert doc["accelerator"]["kind"] == "cuda"


@requires_gpu
def test_verify_runs_the_gpu_checks() -> None:
    if not _cuda_torch():
        pytest.skip("this interpreter has no CUDA torch to verify")
    r = run_cli("verify", "--python", sys.executable, "--json", timeout=300)
    report = json.loads(r.stdout)
    status = {c["id"]: c["status"] for c in report["checks"]}
    for check in ("arch-coverage", "gpu-half", "gpu-compute"):
        assert status[check] == "pass", report
    assert status["cudnn-rnn"] in ("pass", "warn"), report
