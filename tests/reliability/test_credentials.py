"""Credentials in every form, through every output channel: sent to their origin, shown nowhere.

Forms: user:password, a token as user name (GitHub / Azure style), ``__token__:TOKEN``
(GitLab), a percent-encoded password, and netrc. Channels: stdout (requirements, JSON),
stderr (notes, errors, --explain), ``-o`` files, the page cache, ``install --dry-run``, and
the ``-v`` traceback.
"""

from __future__ import annotations

import base64
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_index import FakeIndexServer, FakePytorchIndex, Knobs

from .conftest import CPU_TORCH, WANT, Run, cpu_torch_links, fails, isolated_env, no_secrets, torchpin
from .hostile import Hostile, html, page, redirect

# (name, userinfo in the URL or None for netrc, what the server expects, the secrets to scan for)
FORMS = [
    ("user-password", "alice:s3cret", "alice:s3cret", ("alice", "s3cret")),
    ("token-as-user", "ghp_T0KEN", "ghp_T0KEN:", ("ghp_T0KEN",)),
    ("gitlab-token", "__token__:glpat-XYZ", "__token__:glpat-XYZ", ("glpat-XYZ",)),
    ("percent-encoded", "alice:s3cret%40home", "alice:s3cret@home", ("alice", "s3cret")),
    ("netrc", None, "alice:s3cret", ("alice", "s3cret")),
]


@pytest.fixture(scope="module")
def index() -> FakePytorchIndex:
    return FakePytorchIndex()


@pytest.fixture
def mirror(index: FakePytorchIndex) -> Iterator[FakeIndexServer]:
    index.knobs = Knobs()
    with FakeIndexServer(index) as srv:
        yield srv
    index.knobs = Knobs()


def setup(
    srv: FakeIndexServer, home: Path, form: tuple[str, str | None, str, tuple[str, ...]]
) -> tuple[str, dict[str, str]]:
    """Require the form's credentials on the mirror; return the --index-url and the environment."""
    _, userinfo, expected, _ = form
    srv.index.knobs.auth = expected
    home.mkdir(parents=True, exist_ok=True)
    env = isolated_env(home)
    if userinfo is None:
        user, password = expected.split(":", 1)
        netrc = home / ".netrc"
        netrc.write_text(f"machine 127.0.0.1 login {user} password {password}\n")
        netrc.chmod(0o600)
        return srv.base, env
    return srv.base.replace("http://", f"http://{userinfo}@"), env


def lock(home: Path, url: str, env: dict[str, str], *args: str) -> Run:
    return torchpin(home, "lock", "torch", *CPU_TORCH, "--index-url", url, "--timeout", "2", *args, env=env)


def sent(srv: FakeIndexServer, expected: str) -> bool:
    header = "Basic " + base64.b64encode(expected.encode()).decode()
    return header in srv.main.auth_seen


@pytest.mark.parametrize("form", FORMS, ids=[f[0] for f in FORMS])
def test_a_live_lock_sends_the_credential_and_writes_it_nowhere(
    mirror: FakeIndexServer, tmp_path: Path, form: tuple[str, str | None, str, tuple[str, ...]]
) -> None:
    url, env = setup(mirror, tmp_path, form)
    r = lock(tmp_path, url, env, "--no-fallback")
    assert r.code == 0, r.stderr
    assert r.stdout.endswith(WANT + "\n") and f"--find-links {mirror.base}/cpu/torch/\n" in r.stdout
    assert sent(mirror, form[2])
    (tmp_path / ".netrc").unlink(missing_ok=True)  # the netrc holds the secret by design; scan the rest
    no_secrets(r, secrets=form[3])


@pytest.mark.parametrize("form", FORMS, ids=[f[0] for f in FORMS])
def test_json_explain_and_the_output_file_carry_no_secret(
    mirror: FakeIndexServer, tmp_path: Path, form: tuple[str, str | None, str, tuple[str, ...]]
) -> None:
    url, env = setup(mirror, tmp_path, form)
    out = tmp_path / "out" / "lock.json"
    out.parent.mkdir()
    r = lock(tmp_path, url, env, "--no-fallback", "--format", "json", "--explain", "-o", str(out))
    assert r.code == 0, r.stderr
    assert '"url": "' + mirror.cdn_url in out.read_text()
    (tmp_path / ".netrc").unlink(missing_ok=True)
    no_secrets(r, out, secrets=form[3])


@pytest.mark.parametrize("form", FORMS, ids=[f[0] for f in FORMS])
def test_the_page_cache_is_private_and_holds_no_secret(
    mirror: FakeIndexServer, tmp_path: Path, form: tuple[str, str | None, str, tuple[str, ...]]
) -> None:
    url, env = setup(mirror, tmp_path, form)
    assert lock(tmp_path, url, env, "--no-fallback").code == 0
    cache = tmp_path / "cache"
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files, "nothing was cached"
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        for secret in form[3]:
            assert secret.encode() not in path.read_bytes(), path
    for folder in (cache, cache / "pages"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


@pytest.mark.parametrize("form", FORMS, ids=[f[0] for f in FORMS])
def test_errors_and_fallback_notes_are_masked(
    mirror: FakeIndexServer, tmp_path: Path, form: tuple[str, str | None, str, tuple[str, ...]]
) -> None:
    url, env = setup(mirror, tmp_path, form)
    mirror.index.knobs.fail_first = 99
    failed = lock(tmp_path, url, env, "--no-fallback")
    fails(failed, 4, "HTTP 503 (4 tries)")
    fallback = lock(tmp_path, url, env)
    assert fallback.code == 0 and "locking from the embedded snapshot" in fallback.stderr
    (tmp_path / ".netrc").unlink(missing_ok=True)
    no_secrets(failed, secrets=form[3])
    no_secrets(fallback, secrets=form[3])


@pytest.mark.parametrize("form", FORMS[:4], ids=[f[0] for f in FORMS[:4]])
def test_wrong_credentials_are_exit_4_without_echoing_them(
    mirror: FakeIndexServer, tmp_path: Path, form: tuple[str, str | None, str, tuple[str, ...]]
) -> None:
    url, env = setup(mirror, tmp_path, form)
    mirror.index.knobs.auth = "someone:else"
    r = lock(tmp_path, url, env, "--no-fallback")
    fails(r, 4, "HTTP 401: the index wants credentials")
    no_secrets(r, secrets=form[3])


def test_credentials_never_follow_a_redirect_to_another_origin(fake: FakePytorchIndex, tmp_path: Path) -> None:
    with Hostile() as first, Hostile() as other:
        first.routes["/whl/cpu/torch/"] = redirect(f"{other.url}/whl/cpu/torch/")
        other.routes["/whl/cpu/torch/"] = html(page(cpu_torch_links(fake, other.url)))
        url = first.url.replace("http://", "http://alice:s3cret@") + "/whl"
        r = lock(tmp_path, url, isolated_env(tmp_path), "--no-fallback")
        assert r.code == 0, r.stderr
        assert first.seen[0].authorization == "Basic " + base64.b64encode(b"alice:s3cret").decode()
        assert [s.authorization for s in other.seen] == [None]  # another port is another origin
    no_secrets(r, secrets=("alice", "s3cret"))


def test_netrc_credentials_go_to_their_host_only(fake: FakePytorchIndex, tmp_path: Path) -> None:
    with Hostile() as first:
        # 'localhost' names the same server under another host name: a different origin for netrc.
        other_url = first.url.replace("127.0.0.1", "localhost")
        first.routes["/whl/cpu/torch/"] = redirect(f"{other_url}/whl/cpu/torch2/")
        first.routes["/whl/cpu/torch2/"] = html(page(cpu_torch_links(fake, first.url)))
        tmp_path.mkdir(exist_ok=True)
        (tmp_path / ".netrc").write_text("machine 127.0.0.1 login alice password s3cret\n")
        r = lock(tmp_path, f"{first.url}/whl", isolated_env(tmp_path), "--no-fallback")
        assert r.code == 0, r.stderr
        by_host = {s.host.split(":")[0]: s.authorization for s in first.seen if s.host}
        assert by_host["127.0.0.1"] is not None and by_host["localhost"] is None


def test_install_dry_run_shows_the_installer_credentials_masked(mirror: FakeIndexServer, tmp_path: Path) -> None:
    url, env = setup(mirror, tmp_path, FORMS[0])
    r = torchpin(
        tmp_path,
        "install",
        "torch",
        *CPU_TORCH,
        "--index-url",
        url,
        "--dry-run",
        "--installer",
        "pip",
        "--python",
        sys.executable,
        env=env,
    )
    assert r.code == 0, r.stderr
    assert f"PIP_FIND_LINKS={mirror.base.replace('http://', 'http://****@')}/cpu/torch/" in r.stderr
    no_secrets(r, secrets=FORMS[0][3])


def test_a_verbose_traceback_is_scrubbed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from torchpin.cli import app as cli
    from torchpin.commands import lock as commands

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("unexpected: https://alice:s3cret@mirror.corp/whl and https://ghp_T0KEN@mirror.corp/")

    monkeypatch.setattr(commands, "make_plan", boom)
    monkeypatch.setattr(sys, "argv", ["torchpin", "-v", "lock", "--offline", "--no-detect"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "Traceback" in err and "internal error" in err
    for secret in ("alice", "s3cret", "ghp_T0KEN"):
        assert secret not in err
