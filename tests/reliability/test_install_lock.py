"""``install --lock`` end to end: what the lock names is checked before pip or uv sees it, and a
hash it states binds (issue 16, items 1, 2, 5 and the dry run of 15)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.cli import installer_env, run
from tests.support.fake_index import FakeIndexServer

from .conftest import fails

WHEEL = "torch-2.15.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"


def install_lock(
    tmp: Path, text: str, *args: str, name: str = "lock.txt", variables: dict[str, str] | None = None
) -> tuple[int, str, str]:
    lock = tmp / name
    lock.write_text(text)
    r = run(
        "install",
        "--lock",
        str(lock),
        "--python",
        sys.executable,
        "--no-verify",
        *args,
        env=installer_env(TORCHPIN_CACHE_DIR=str(tmp / "cache"), **(variables or {})),
        timeout=300,
    )
    return r.returncode, r.stdout, r.stderr


def test_a_plain_http_index_in_a_lock_is_refused_before_pip_runs(tmp_path: Path) -> None:
    text = "--index-url https://pypi.org/simple\n--extra-index-url http://evil.example/whl/cpu\ntorch==2.15.0+cpu\n"
    code, out, err = install_lock(tmp_path, text, "--installer", "pip")
    assert code == 2 and out == "" and "http://evil.example/whl/cpu: plain http to evil.example" in err
    assert "--trusted-host evil.example" in err and "Looking in indexes" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_trusted_host_line_inside_the_lock_is_not_honoured(tmp_path: Path) -> None:
    text = "--trusted-host evil.example\n--extra-index-url http://evil.example/whl/cpu\ntorch==2.15.0+cpu\n"
    code, _, err = install_lock(tmp_path, text)
    assert code == 2 and "trust a lock file grants is not honoured" in err


def test_index_options_beside_lock_are_refused_not_ignored(tmp_path: Path) -> None:
    text = "--index-url https://pypi.org/simple\ntorch==2.15.0+cpu\n"
    code, _, err = install_lock(tmp_path, text, "--index-url", "https://mirror.example/whl")
    assert code == 2 and "--index-url would be ignored" in err
    code, _, err = install_lock(tmp_path, text, "--backend", "cu126")
    assert code == 2 and "--backend would be ignored" in err


def test_target_and_index_variables_are_defaults_not_requests(tmp_path: Path) -> None:
    # A Dockerfile's `ENV TORCHPIN_BACKEND=cpu` lasts into the `RUN torchpin install --lock` after
    # it, and mirror users keep TORCHPIN_INDEX_URL set: beside --lock they are ignored, and said so.
    text = "--index-url https://pypi.org/simple\n--extra-index-url https://download.pytorch.org/whl/cpu\ntorch==2.15.0+cpu\n"
    variables = {
        "TORCHPIN_BACKEND": "cpu",
        "TORCHPIN_INDEX_URL": "https://mirror.example/whl",
        "TORCHPIN_GPU_CC": "8.6",
    }
    code, out, err = install_lock(tmp_path, text, "--dry-run", "--installer", "pip", variables=variables)
    assert code == 0, err
    assert "TORCHPIN_INDEX_URL, TORCHPIN_BACKEND, TORCHPIN_GPU_CC ignored: --lock installs the lock's own" in err
    assert "would run:" in err and out == ""
    code, _, err = install_lock(tmp_path, text, "--backend", "cpu", variables=variables)  # typed: refused
    assert code == 2 and "--backend would be ignored" in err and len(err.strip().splitlines()) == 1


def test_a_lock_for_another_platform_is_refused_naming_both(tmp_path: Path) -> None:
    text = "# target: CPython 3.11 on macOS arm64 14.0; mps\n--index-url https://pypi.org/simple\ntorch==2.15.0\n"
    code, _, err = install_lock(tmp_path, text)
    assert code == 2 and "was made for CPython 3.11 on macos aarch64" in err and "on linux" in err


def json_lock(srv: FakeIndexServer, sha: str) -> str:
    url = f"{srv.base}/cpu/{WHEEL.replace('+', '%2B')}"
    return json.dumps(
        {
            "schema": 1,
            "backend": "cpu",
            "index_url": f"{srv.base}/cpu",
            "index_options": [["--index-url", "https://pypi.org/simple"], ["--extra-index-url", f"{srv.base}/cpu"]],
            "packages": [{"name": "torch", "version": "2.15.0+cpu", "filename": WHEEL, "url": url, "sha256": sha}],
        }
    )


def test_a_json_locks_wrong_hash_installs_nothing(tmp_path: Path) -> None:
    with FakeIndexServer() as srv:
        code, out, err = install_lock(tmp_path, json_lock(srv, "0" * 64), "--installer", "pip", name="lock.json")
        fetched = [p for p in srv.main.hits if p.endswith(".whl")] + [p for p in srv.cdn.hits if p.endswith(".whl")]
    assert code == 5 and out == "" and f"sha256 mismatch for {WHEEL}" in err and "nothing was installed" in err
    assert fetched, "torchpin checked the file itself"
    assert "Processing" not in err and "Collecting" not in err  # pip never ran


def test_a_json_lock_dry_run_prints_what_it_would_install(tmp_path: Path) -> None:
    with FakeIndexServer() as srv:
        right = srv.index.sha256(WHEEL)
        code, _, err = install_lock(tmp_path, json_lock(srv, right), "--dry-run", "--installer", "pip", name="l.json")
    assert code == 0, err
    assert "would run: " in err and f"  --extra-index-url {srv.base}/cpu" in err
    assert f"  {WHEEL}" in err  # pip gets the file torchpin checked (its own download costs more)
    # the file the installer would read is named by what it holds, never by a temporary path
    # that is gone once the dry run returns (issue 26, item 11)
    assert "-r FILE" in err and "where FILE is made from" in err and "/tmp/torchpin-lock-" not in err


def test_the_refusal_contract_holds(tmp_path: Path) -> None:
    text = "--index-url https://pypi.org/simple\ntorch @ file:///etc/passwd\n"
    lock = tmp_path / "lock.txt"
    lock.write_text(text)
    r = run("install", "--lock", str(lock), "--python", sys.executable, env=installer_env())
    from .conftest import Run

    fails(Run(r.returncode, r.stdout, r.stderr, tmp_path), 2, "is not a wheel")


def test_uv_refuses_a_json_locks_wrong_hash_and_the_retry_names_torchpin(tmp_path: Path) -> None:
    # uv gets the lock's sha256 with the pin and checks it itself: exit 5, said as torchpin says
    # its own; a JSON lock is no `uv pip install -r` input, so the retry is torchpin's command.
    from tests.support.local_index import write_simple_index
    from tests.support.static_server import StaticServer

    write_simple_index(tmp_path / "pypi" / "simple", [])
    with FakeIndexServer() as srv, StaticServer(tmp_path / "pypi") as pypi:
        doc = json.loads(json_lock(srv, "0" * 64))
        doc["index_options"][0][1] = f"{pypi.url}/simple"
        code, out, err = install_lock(tmp_path, json.dumps(doc), "--installer", "uv", name="lock.json")
    last = err.strip().splitlines()[-1]
    assert code == 5 and out == "", err
    assert "sha256 mismatch for torch==2.15.0+cpu" in last and f"then: torchpin install --lock {tmp_path}" in last
