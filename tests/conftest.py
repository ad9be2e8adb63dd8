"""Shared fixtures: the shipped snapshot, and targets built the way the CLI builds them."""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from torchpin.facts.snapshot import Catalog, load_catalog
from torchpin.facts.wheels import parse_variant
from torchpin.models import Accelerator, DriverVersion, Gpu, PlatformTarget, PythonTarget, Target

# pip's and uv's own settings the developer may have exported: torchpin honours them (the PyPI side,
# trust, colour), so no test may depend on this machine's.
for _name in ("PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_TRUSTED_HOST", "UV_INSECURE_HOST"):
    os.environ.pop(_name, None)
for _name in ("NO_COLOR", "FORCE_COLOR", "PIP_EXTRA_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL"):
    os.environ.pop(_name, None)


def _raw() -> bytes:
    from torchpin.cli.snapshot import snapshot_bytes  # the lookup torchpin itself makes

    return snapshot_bytes()


@pytest.fixture(scope="session")
def snapshot_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_raw())
    return doc


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(_raw())


@pytest.fixture
def edited_catalog(snapshot_doc: dict[str, Any]) -> Callable[[Callable[[dict[str, Any]], None]], Catalog]:
    """A catalog from a copy of the snapshot that ``edit`` changed in place."""

    def make(edit: Callable[[dict[str, Any]], None]) -> Catalog:
        doc = copy.deepcopy(snapshot_doc)
        edit(doc)
        return load_catalog(json.dumps(doc))

    return make


def target(
    python: str = "3.12",
    os: str = "linux",
    arch: str = "x86_64",
    *,
    driver: str | None = None,
    cc: tuple[str, ...] = (),
    gfx: tuple[str, ...] = (),
    glibc: str | None = None,
    macos: str | None = None,
    backend: str | None = None,
    strict: bool = False,
    kind: str | None = None,
) -> Target:
    """A Target from the same short strings a user types."""
    major, minor = python.rstrip("t").split(".")
    gpus = tuple(Gpu(cc=(int(c.split(".")[0]), int(c.split(".")[1]))) for c in cc) + tuple(Gpu(gfx=g) for g in gfx)
    if kind is None:
        kind = "cuda" if (driver or cc) else "rocm" if gfx else "mps" if (os, arch) == ("macos", "aarch64") else "none"
    return Target(
        python=PythonTarget(int(major), int(minor), python.endswith("t")),
        platform=PlatformTarget(
            os,  # type: ignore[arg-type]
            arch,  # type: ignore[arg-type]
            glibc=Version(glibc) if glibc else None,
            macos=Version(macos) if macos else None,
        ),
        accelerator=Accelerator(kind, DriverVersion(driver) if driver else None, gpus),  # type: ignore[arg-type]
        backend=parse_variant(backend) if backend else None,
        cuda_compat="strict" if strict else "minor",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under xdist, the tests of a module that defines a module-scoped fixture (a venv with the
    real torch, a built wheel, the lab) run in one worker, one after another: the fixture is made
    once, and no two workers touch the environment it made. Every other test is its own unit.
    (xdist's ``loadgroup`` would say this with markers, but its nodeid rewrite is lost on pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    root = config.rootpath

    class SharedFixturesTogether(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if _defines_module_fixture(root / module) else nodeid

    return SharedFixturesTogether(config, log)


@functools.cache
def _defines_module_fixture(path: Path) -> bool:
    try:
        return 'scope="module"' in path.read_text()
    except OSError:
        return False
