"""Where the lock goes: missing, read-only, full, symlinked and directory outputs, closed or broken
stdout; SIGINT / SIGTERM in the middle of `lock -o` and `install`; concurrent runs on one cache."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fake_index import FakeIndexServer, FakePytorchIndex
from tests.support.newest import TORCH as NEWEST

from .conftest import CPU_TORCH, WANT, Run, cpu_torch_links, fails, isolated_env, no_temp_files, torchpin
from .hostile import Hostile, drip, html, page

OFFLINE = ["lock", "torch", "--offline", *CPU_TORCH]
OLD = "# the previous lock\n"


def run_fd(tmp_path: Path, stdout: int | None, *, close_stdout: bool = False) -> Run:
    # `torchpin lock >&-` exactly as a shell runs it: fd 1 closed before the interpreter starts.
    argv = (
        ["sh", "-c", 'exec "$0" -m torchpin "$@" >&-', sys.executable]
        if close_stdout
        else [sys.executable, "-m", "torchpin"]
    )
    done = subprocess.run(
        [*argv, *OFFLINE],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=isolated_env(tmp_path),
        timeout=60,
        check=False,
    )
    return Run(done.returncode, "", done.stderr, tmp_path)


def test_closed_stdout_is_not_success(tmp_path: Path) -> None:
    fails(run_fd(tmp_path, None, close_stdout=True), 2, "stdout is closed")


def test_a_broken_pipe_is_not_success(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before torchpin writes a byte (`| head -c0`, deterministic)
    try:
        fails(run_fd(tmp_path, write_end), 2, "Broken pipe")
    finally:
        os.close(write_end)


@pytest.fixture
def full_device(tmp_path: Path) -> Path:
    """A private twin of /dev/full: a regression that renamed over its output would clobber
    this node, never the machine's /dev/full (which an older torchpin, run as root, did)."""
    node = tmp_path / "full"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except (OSError, AttributeError) as e:
        pytest.skip(f"cannot make a device node here ({e}); /dev/full itself is not put at risk")
    return node


def test_a_full_stdout_is_not_success(tmp_path: Path, full_device: Path) -> None:
    with full_device.open("w") as full:
        fails(run_fd(tmp_path, full.fileno()), 2, "No space left on device")


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ("missing/dir/lock.txt", "No such file or directory"),
        ("full", "No space left on device"),  # the full_device node
        ("/sys/torchpin-lock.txt", None),  # read-only even for root
        (".", "is a directory"),  # click's own check, still one line and exit 2
    ],
    ids=["missing-dir", "full-disk", "read-only", "directory"],
)
def test_an_unwritable_output_names_the_users_path(
    tmp_path: Path, where: str, fragment: str | None, request: pytest.FixtureRequest
) -> None:
    if where == "full":
        request.getfixturevalue("full_device")
    path = where if where.startswith("/") else str(tmp_path / where)
    if where.startswith("/sys") and _writable(Path("/sys")):
        pytest.skip("/sys is writable here: no read-only directory to test with")
    r = torchpin(tmp_path, *OFFLINE, "-o", path)
    fails(r, 2, path, *(f for f in (fragment,) if f))
    assert ".tmp" not in r.stderr  # the message names the user's path, never the temp file
    no_temp_files(tmp_path)


def _writable(directory: Path) -> bool:
    import tempfile

    try:
        fd, name = tempfile.mkstemp(dir=directory)
    except OSError:
        return False
    os.close(fd)
    Path(name).unlink()
    return True


def test_a_failed_lock_leaves_the_old_file_alone(tmp_path: Path) -> None:
    out = tmp_path / "lock.txt"
    tmp_path.mkdir(exist_ok=True)
    out.write_text(OLD)
    fails(torchpin(tmp_path, *OFFLINE, "torch==9.9", "-o", str(out)), 3)
    assert out.read_text() == OLD


def test_output_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "requirements.txt"
    real.parent.mkdir(parents=True)
    real.write_text(OLD)
    link = tmp_path / "requirements.txt"
    link.symlink_to(real)
    r = torchpin(tmp_path, *OFFLINE, "-o", str(link))
    assert r.code == 0, r.stderr
    assert link.is_symlink() and real.read_text().endswith(WANT + "\n")
    no_temp_files(tmp_path)


def test_output_through_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    link = tmp_path / "lock.txt"
    link.symlink_to(tmp_path / "target.txt")
    assert torchpin(tmp_path, *OFFLINE, "-o", str(link)).code == 0
    assert link.is_symlink() and (tmp_path / "target.txt").read_text().endswith(WANT + "\n")


# A child inherits an ignored SIGINT (as under a non-interactive shell's `&`); this restores
# Python's own handler first, so the test sends SIGINT to torchpin as a terminal would.
CHILD = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler);"
    "runpy.run_module('torchpin', run_name='__main__', alter_sys=True)"
)


def _spawn(tmp_path: Path, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def _wait_for(h: Hostile, path: str, proc: subprocess.Popen[str], limit: float = 20) -> None:
    """Until torchpin has asked for ``path`` and is reading its dripping body."""
    end = time.monotonic() + limit
    while not (h.dripping.wait(0.05) and any(s.target.endswith(path) for s in h.seen)):
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            _, stderr = proc.communicate()
            raise AssertionError(f"torchpin never read {path}: {stderr}")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_lock_o_leaves_the_old_lock(
    hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path, sig: int, code: int
) -> None:
    hostile.routes["/whl/cpu/torch/"] = drip(page(cpu_torch_links(fake, hostile.url)).encode(), every=0.2)
    out = tmp_path / "lock.txt"
    tmp_path.mkdir(exist_ok=True)
    out.write_text(OLD)
    proc = _spawn(
        tmp_path,
        [
            "lock",
            "torch",
            *CPU_TORCH,
            "--index-url",
            f"{hostile.url}/whl",
            "--no-fallback",
            "--timeout",
            "5",
            "--deadline",
            "60",
            "-o",
            str(out),
        ],
        isolated_env(tmp_path),
    )
    _wait_for(hostile, "/whl/cpu/torch/", proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert stdout == "" and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    assert out.read_text() == OLD
    no_temp_files(tmp_path)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_an_install_download_installs_nothing(
    hostile: Hostile, fake: FakePytorchIndex, tmp_path: Path, sig: int, code: int
) -> None:
    name = f"torch-{NEWEST}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    links = [a.replace(fake.sha256(name), "0" * 64) for a in cpu_torch_links(fake, hostile.url)]
    hostile.routes["/whl/cpu/torch/"] = html(page(links))
    hostile.routes[f"/whl/cpu/{name.replace('+', '%2B')}"] = drip(b"PK" + b"\0" * 10_000, every=0.2)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = isolated_env(tmp_path, TMPDIR=str(tmpdir))
    proc = _spawn(
        tmp_path,
        [
            "install",
            "torch",
            "--no-detect",
            "--backend",
            "cpu",
            "--python",
            str(venv / "bin" / "python"),
            "--installer",
            "uv",
            "--index-url",
            f"{hostile.url}/whl",
            "--no-fallback",
            "--timeout",
            "5",
            "-o",
            str(tmp_path / "lock.txt"),
        ],
        env,
    )
    _wait_for(hostile, name.replace("+", "%2B"), proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1].startswith("torchpin: "), stderr
    assert list(tmpdir.iterdir()) == []  # the download folder went with it
    assert not list((venv / "lib").rglob("torch"))


def test_concurrent_runs_share_one_cache(tmp_path: Path) -> None:
    with FakeIndexServer(FakePytorchIndex()) as srv:
        env = isolated_env(tmp_path)
        args = ["lock", *CPU_TORCH, "--index-url", srv.base, "--no-fallback", "--refresh"]
        procs = [_spawn(tmp_path, args, env) for _ in range(4)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], [e for _, e in results]
        assert len({out for out, _ in results}) == 1
        # Every cache entry left behind is whole: read fresh (no request), then revalidated (304).
        hits = sum(srv.main.hits.values())
        warm = torchpin(tmp_path, *args[:-1], env=env)
        assert warm.code == 0 and warm.stdout == results[0][0]
        assert sum(srv.main.hits.values()) == hits
        stale = torchpin(tmp_path, *args[:-1], env={**env, "TORCHPIN_CACHE_MAX_AGE": "0"})
        assert stale.code == 0 and stale.stdout == results[0][0]
        assert sum(srv.main.not_modified.values()) == 3
    no_temp_files(tmp_path / "cache")
