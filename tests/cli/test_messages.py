"""Messages that must not mislead (issue 26, item 9): each names what the user typed and the way out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run

OFFLINE = ("--offline", "--no-detect")


@pytest.mark.parametrize(
    ("typed", "meant"), [("torchvison", "torchvision"), ("torchaudo", "torchaudio"), ("pytorch", "torch")]
)
def test_a_misspelt_project_gets_did_you_mean(typed: str, meant: str) -> None:
    r = run("lock", typed, *OFFLINE)
    assert r.returncode == 2 and r.stdout == ""
    assert f"{typed!r} is not one of them (did you mean {meant}?)" in r.stderr


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("linux-arm64", "aarch64-manylinux_2_28 or aarch64-unknown-linux-gnu"),
        ("macos-x86_64", "x86_64-apple-darwin"),
        ("linux-x86_64", "x86_64-manylinux_2_28 or x86_64-unknown-linux-gnu"),
    ],
)
def test_a_misspelt_platform_suggests_that_os_on_that_cpu(typed: str, meant: str) -> None:
    r = run("lock", "--python-platform", typed, *OFFLINE)
    assert r.returncode == 2 and f"(did you mean {meant})" in r.stderr


def test_a_pin_that_excludes_every_build_for_the_python_is_named() -> None:
    r = run("lock", "torch<2", "--python-version", "3.12", "--python-platform", "linux", *OFFLINE)
    assert r.returncode == 3 and r.stdout == ""
    assert "no torch release matching torch<2 (1.13.0, 1.13.1) has a build for CPython 3.12" in r.stderr
    assert "widen or drop the pin torch<2" in r.stderr


def test_a_mac_lock_names_pypi_not_an_index_it_never_read(tmp_path: Path) -> None:
    # Every candidate build for the Mac is PyPI's: no page of the PyTorch index is read (the URL
    # below answers nothing), and the lock says where its files really come from.
    r = run(
        *("lock", "--no-detect", "--python-version", "3.12", "--python-platform", "macos"),
        *("--index-url", "http://127.0.0.1:9/whl", "--no-fallback"),
        home=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "# source: PyPI's files in the embedded snapshot of" in r.stdout and "live index" not in r.stdout


def test_explain_names_no_internal_source_ids() -> None:
    r = run("lock", "--explain", "--python-version", "3.12", "--python-platform", "linux", *OFFLINE)
    assert r.returncode == 0, r.stderr
    pairing = [line for line in r.stderr.splitlines() if line.startswith("pairing:")]
    assert pairing and not any("PYPI;" in line or "as recorded (" in line for line in pairing), pairing


# ---- help that says what is true (issue 26, item 12)


def test_help_states_the_options_and_their_variables() -> None:
    lock = " ".join(run("lock", "--help").stdout.split())  # click wraps to the terminal
    assert "cuda-compat" in lock.split("--target SPEC")[-1]  # every KEY a SPEC takes
    assert "[env var: TORCHPIN_BACKEND" in lock and "[env var: TORCHPIN_INDEX_URL]" in lock
    install = " ".join(run("install", "--help").stdout.split())
    assert "plain or --full" not in install and "pyproject, pylock" in install
    verify = " ".join(run("verify", "--help").stdout.split())
    assert "smoke test" in verify.split("--timeout", 1)[1].split(" -h,", 1)[0]


@pytest.mark.parametrize("argv", [("-v", "lock"), ("lock", "-v"), ("lock", "--verbose")])
def test_verbose_goes_before_or_after_the_command(argv: tuple[str, ...]) -> None:
    r = run(*argv, "torch", *OFFLINE)
    assert r.returncode == 0, r.stderr


def test_detect_refuses_a_bad_flag_as_lock_does() -> None:
    for command in ("detect", "lock"):
        r = run(command, "--driver", "abc", *OFFLINE[:1] if command == "lock" else ())
        assert r.returncode == 2 and "--driver 'abc' is not an NVIDIA driver version" in r.stderr, (command, r.stderr)
