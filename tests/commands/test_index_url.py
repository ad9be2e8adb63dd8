"""What users of pip and uv type as --index-url (issue 26, item 5): a variant page is its root plus
--backend; an index without variant pages is exit 2, never a lock that installs nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run
from tests.support.fake_index import FakeIndexServer
from tests.support.local_index import write_simple_index
from tests.support.static_server import StaticServer

TARGET = ("--no-detect", "--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28", "--no-fallback")


@pytest.fixture(scope="module")
def index() -> Iterator[FakeIndexServer]:
    with FakeIndexServer() as srv:
        yield srv


@pytest.mark.parametrize("variant", ["cu121", "cpu", "rocm6.2"])
def test_a_variant_url_is_its_root_and_the_backend(index: FakeIndexServer, tmp_path: Path, variant: str) -> None:
    r = run("lock", "torch", *TARGET, "--index-url", f"{index.base}/{variant}/", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"--find-links {index.base}/{variant}/torch/\n" in r.stdout and f"/{variant}/{variant}" not in r.stdout
    assert f"is the {variant} variant index: locking from its root with --backend {variant}" in r.stderr
    assert f"+{variant}\n" in r.stdout


def test_a_variant_url_and_another_backend_is_exit_2(index: FakeIndexServer, tmp_path: Path) -> None:
    r = run("lock", "torch", *TARGET, "--index-url", f"{index.base}/cu121", "--backend", "cu128", home=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert "is the cu121 index, and --backend cu128 asks for another build" in r.stderr
    assert f"--index-url {index.base} with --backend cu128" in r.stderr


def test_an_index_without_variant_pages_is_exit_2_not_a_lock(tmp_path: Path) -> None:
    write_simple_index(tmp_path / "pypi" / "simple", [])
    with StaticServer(tmp_path / "pypi") as pypi:
        r = run("lock", "torch", *TARGET, "--index-url", f"{pypi.url}/simple", home=tmp_path)
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert f"{pypi.url}/simple has no cpu pages (it lists no variants)" in r.stderr
    assert "ROOT/<variant>/<project>/" in r.stderr and len(r.stderr.strip().splitlines()) == 1
