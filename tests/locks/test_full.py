"""--full's body (pure): the family's hashes added, the user's --hash values binding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


# ---- --full starts uv on the snapshot's plan while the index is read (issue 29, item 3)


def _mirror_env(tmp_path: Path, pypi_url: str) -> dict[str, str]:
    from tests.support.cli import installer_env

    return installer_env(
        TORCHPIN_CACHE_DIR=str(tmp_path / "cache"), UV_CACHE_DIR=str(tmp_path / "uvc"), TORCHPIN_PYPI_URL=pypi_url
    )


@pytest.mark.parametrize("unlisted", [False, True], ids=["as-the-snapshot", "partial-mirror"])
def test_full_follows_the_live_plan_whatever_was_guessed(tmp_path: Path, unlisted: bool) -> None:
    # A mirror without the newest release: the live plan is older than the snapshot's, so the
    # resolution started on the snapshot's plan is dropped and uv runs again for the live one.
    from tests.support.fake_index import FakeIndexServer, FakePytorchIndex, Knobs
    from tests.support.local_index import write_simple_index
    from tests.support.newest import TORCH as NEWEST
    from tests.support.static_server import StaticServer

    write_simple_index(tmp_path / "pypi" / "simple", [])
    knobs = Knobs(unlisted={NEWEST} if unlisted else set())
    args = ("torch", "--backend", "cpu", *TARGET[:3], "--python-platform", "x86_64-manylinux_2_28", "--no-fallback")
    with FakeIndexServer(FakePytorchIndex(knobs=knobs)) as index, StaticServer(tmp_path / "pypi") as pypi:
        env = _mirror_env(tmp_path, f"{pypi.url}/simple")
        plain = run("lock", *args, "--index-url", index.base, env=env)
        full = run("lock", "--full", *args, "--index-url", index.base, env=env, timeout=300)
    assert plain.returncode == 0 and full.returncode == 0, plain.stderr + full.stderr
    decided = next(line for line in plain.stdout.splitlines() if line.startswith("torch=="))
    assert (decided == f"torch=={NEWEST}+cpu") is not unlisted
    assert f"{decided} \\" in full.stdout  # uv's hash-pinned line for the torch the live plan chose
    assert not list((tmp_path).glob("torchpin-full-*"))


def test_a_guess_that_holds_is_the_one_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, uv's starts recorded: when the snapshot's plan is the live one, uv runs once
    (started before the index was read); when it isn't, uv runs again for the live plan."""
    from tests.support.cli import lock
    from tests.support.fake_index import FakeIndexServer, FakePytorchIndex, Knobs
    from tests.support.local_index import write_simple_index
    from tests.support.newest import TORCH as NEWEST
    from tests.support.static_server import StaticServer
    from torchpin import proc
    from torchpin.commands import IndexOptions
    from torchpin.decide import TargetFlags, parse_requirement

    started: list[list[str]] = []
    real_start = proc.start

    def recording(argv: list[str], **kw: Any) -> proc.Running:
        started.append(list(argv))
        return real_start(argv, **kw)

    monkeypatch.setattr(proc, "start", recording)
    write_simple_index(tmp_path / "pypi" / "simple", [])
    flags = TargetFlags(backend="cpu", no_detect=True, python_version="3.12", python_platform="x86_64-manylinux_2_28")
    with StaticServer(tmp_path / "pypi") as pypi:
        for key, value in _mirror_env(tmp_path, f"{pypi.url}/simple").items():
            monkeypatch.setenv(key, value)
        for unlisted, runs in (({NEWEST}, 2), (set(), 1)):
            started.clear()
            with FakeIndexServer(FakePytorchIndex(knobs=Knobs(unlisted=unlisted))) as index:
                index_options = IndexOptions(index_url=index.base, no_fallback=True)
                text = lock([parse_requirement("torch")], flags, index_options, full=[])
            assert len([a for a in started if a[1:3] == ["pip", "compile"]]) == runs, started
            assert "torch==" in text
