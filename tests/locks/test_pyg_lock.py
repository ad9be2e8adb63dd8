"""PyG's packages in every lock format offline (issue 28, item 3): pinned by version with the
page as ``--find-links`` (the file isn't known without a live read), routed to the page as a flat
index in a uv project, and read back with the variant, not PyG's page, as the lock's index."""

from __future__ import annotations

import tomllib

from tests.support.cli import lock
from torchpin.decide.targets import TargetFlags
from torchpin.locks.read import read_lock
from torchpin.models import Requirement

FLAGS = TargetFlags(no_detect=True, python_version="3.12", python_platform="x86_64-manylinux_2_28", backend="cu128")
REQS = [Requirement("torch"), Requirement("torch-scatter")]
PAGE = "https://data.pyg.org/whl/torch-2.11.0+cu128.html"


def test_requirements_and_constraints_name_the_page() -> None:
    text = lock(REQS, FLAGS)
    lines = text.splitlines()
    assert f"--find-links {PAGE}" in lines and "torch-scatter==2.1.2+pt211cu128" in lines
    assert "--find-links https://download.pytorch.org/whl/cu128/torch-scatter/" not in lines
    view = read_lock(text)
    assert view.index_url == "https://download.pytorch.org/whl/cu128" and view.variant == "cu128"
    assert view.pins["torch-scatter"] == "2.1.2+pt211cu128"
    assert f"--find-links {PAGE}" in lock(REQS, FLAGS, fmt="constraints")


def test_a_multi_target_lock_names_each_targets_page() -> None:
    text = lock(REQS, TargetFlags(python_version="3.12"), targets=("linux-x86_64-cu128", "macos-arm64"))
    assert PAGE in text and "torch-2.12.0+cpu.html" in text
    assert 'torch-scatter==2.1.2+pt212cpu ; sys_platform == "darwin"' in text


def test_pyproject_routes_the_packages_to_the_page() -> None:
    existing = '[project]\nname = "g"\nversion = "0"\ndependencies = ["torch", "torch-scatter"]\n'
    doc = tomllib.loads(lock(REQS, FLAGS, fmt="pyproject", existing=existing))
    [index] = [i for i in doc["tool"]["uv"]["index"] if i["name"] == "torchpin-pyg-2.11-cu128"]
    assert index["url"] == PAGE and index["format"] == "flat" and index["explicit"] is True
    assert doc["tool"]["uv"]["sources"]["torch-scatter"] == {"index": "torchpin-pyg-2.11-cu128"}
    assert doc["tool"]["uv"]["sources"]["torch"] == {"index": "torchpin-cu128"}
