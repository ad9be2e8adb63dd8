"""--full's body (pure): the family's hashes added, the user's --hash values binding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run
from torchpin.errors import UsageError
from torchpin.locks import bind_hashes, user_hashes

A, B, C = "a" * 64, "b" * 64, "c" * 64
RESOLVED = (
    "--index-url https://pypi.org/simple\n\n"
    f"numpy==2.1.0 \\\n    --hash=sha256:{A} \\\n    --hash=sha256:{B}\n    # via -r requirements.in\n"
    f"Pillow==11.0.0 \\\n    --hash=sha256:{C}\n    # via -r requirements.in\n"
)


def test_user_hashes_are_read_per_project() -> None:
    got = user_hashes([f"numpy==2.1.0 --hash=sha256:{A.upper()}", "rich", f"pillow --hash=sha256:{C}", "http://x/y"])
    assert got == {"numpy": {A}, "pillow": {C}}


def test_only_the_files_the_user_allows_stay() -> None:
    out = bind_hashes(RESOLVED, {"numpy": {B}})
    assert f"numpy==2.1.0 \\\n    --hash=sha256:{B}\n    # via" in out and A not in out
    assert f"--hash=sha256:{C}" in out  # unhashed by the user: uv's hashes stand


def test_the_last_hash_dropped_leaves_no_dangling_continuation() -> None:
    out = bind_hashes(RESOLVED, {"numpy": {A}})
    assert f"    --hash=sha256:{A}\n    # via" in out and f"{A} \\" not in out


@pytest.mark.parametrize("name", ["numpy", "pillow"])
def test_no_allowed_file_is_refused_naming_the_project(name: str) -> None:
    with pytest.raises(UsageError, match=f"uv resolved {name} .*none of its files has a sha256 your --hash"):
        bind_hashes(RESOLVED, {name: {"d" * 64}})


def test_no_user_hashes_change_nothing() -> None:
    assert bind_hashes(RESOLVED, {}) == RESOLVED


# ---- --full without the network (issue 26, item 6): said at once, never blamed on the requirements

TARGET = ("--no-detect", "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28")


def test_full_offline_without_the_files_hashes_stops_before_uv(tmp_path: Path) -> None:
    (tmp_path / "r.in").write_text("torch\nnumpy\n")
    r = run("lock", "--full", "-r", str(tmp_path / "r.in"), "--backend", "cpu", "--offline", *TARGET, home=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert "--full needs every file's URL and sha256, and the offline snapshot has none for torch" in r.stderr
    assert "drop --offline" in r.stderr and "loosen" not in r.stderr


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_an_unreachable_pypi_is_not_blamed_on_the_requirements(tmp_path: Path, offline: bool) -> None:
    # macOS: PyPI's own torch files, whose hashes the snapshot has, so uv runs, and finds no PyPI.
    (tmp_path / "r.in").write_text("torch\nnumpy\n")
    mac = ("--no-detect", "--python-version", "3.12", "--python-platform", "aarch64-apple-darwin")
    r = run(
        *("lock", "--full", "-r", str(tmp_path / "r.in"), *(["--offline"] if offline else []), *mac),
        home=tmp_path,
        extra={
            "TORCHPIN_PYPI_URL": "http://127.0.0.1:9/simple",
            "UV_CACHE_DIR": str(tmp_path / "uvc"),
            "UV_HTTP_RETRIES": "0",
        },
    )
    assert r.returncode in (2, 4) and r.stdout == "", r.stderr
    assert "loosen the requirement" not in r.stderr
    assert ("with --offline uv resolves from its cache only" if offline else "uv could not read an index") in r.stderr
